"""The models: text-model loading, the motion-patch encoder, the lexical heads and the
one lexical pooling formula, the loss modules, ``LexMotionModel`` (text and motion encoders
over one vocabulary) and checkpoints. Built on ``lexmotion.data``; trains in ``pretrain``.
"""
