"""retrieval: indexes of encoded motions or captions (FAISS, sparse inverted, clustered sparse-ivf,
seismic, torch), explained search by text or motion, TMR's evaluation protocols
(``lexmotion eval retrieval``) and the scale benchmark (``python -m retrieval.bench``).
"""
