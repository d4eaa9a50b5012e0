// Sito module.
