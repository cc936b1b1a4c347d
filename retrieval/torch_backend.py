"""The ``torch`` backend: exact dense matmul and top-k over the active columns, on the CPU or a GPU."""
from __future__ import annotations

from retrieval.backend import ColumnBackend, active_columns


class TorchBackend(ColumnBackend):
    name = "torch"

    def __init__(self, columns, matrix):
        super().__init__(columns)
        self.matrix = matrix              # (N, active columns) float32 tensor

    @classmethod
    def build(cls, vectors, progress: bool = False) -> "TorchBackend":
        import torch
        columns = active_columns(vectors)
        return cls(columns, torch.from_numpy(cls.dense_rows(vectors, columns)))

    def search(self, queries, k, allowed=None):
        import torch
        scores = torch.from_numpy(self.query_rows(queries)).to(self.matrix.device) @ self.matrix.T
        if allowed is not None:
            scores[:, ~torch.from_numpy(allowed).to(scores.device)] = -torch.inf
        values, top = torch.topk(scores, k, dim=1)
        return values.cpu().numpy(), top.cpu().numpy()

    def to(self, device: str) -> "TorchBackend":
        self.matrix = self.matrix.to(device)
        return self
