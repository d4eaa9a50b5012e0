print("sito-inspect: not yet implemented")
