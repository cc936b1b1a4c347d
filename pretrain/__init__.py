"""pretrain: not implemented yet in lexmotion 0.1.0."""
