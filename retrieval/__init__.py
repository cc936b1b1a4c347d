"""retrieval: encoding collections, evaluation protocols (TMR) and, later, indexes and search."""
