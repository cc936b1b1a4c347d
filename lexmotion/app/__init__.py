"""The application on top of everything: the ``lexmotion`` command line (``cli``) and the
``lexmotion demo`` job (``demo``). It may import every package; nothing imports it.
"""
