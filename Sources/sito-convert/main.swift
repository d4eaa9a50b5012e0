print("sito-convert: not yet implemented")
