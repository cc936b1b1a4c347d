"""captioning: the guided-attention and recurrent-local-attention captioners (on their own encoders
or on the pretrained lexical motion encoder), greedy / beam / synergetic decoding, caption metrics,
and the interpretability outputs (attention figures, beta densities, body-part accuracy).
"""
