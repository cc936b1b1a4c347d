"""pretrain: the four lexical phases (LexMLM, CMMM, LexMMM, LexCMLP), the dense baseline, and the trainer.

``lexmotion pretrain`` (pretrain/cli.py) drives ``Trainer`` (pretrain/trainer.py) with the loss
functions of pretrain/phases.py.
"""
