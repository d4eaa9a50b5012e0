print("sito-rerank: not yet implemented")
