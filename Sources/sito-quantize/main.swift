print("sito-quantize: not yet implemented")
