print("sito-verify: not yet implemented")
