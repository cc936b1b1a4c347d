"""Loss modules: tensors in, a dict of named terms out (the trainer weights and sums them)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lexmotion.models.lexical import flops_loss


def distributed_world() -> int:
    """Processes in this DDP run (1 outside one)."""
    dist = torch.distributed
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def gather_batch(x: torch.Tensor) -> torch.Tensor:
    """``x`` of every DDP process, concatenated in rank order (as open_clip gathers its features).

    The gather is differentiable: each process gets back the gradient of every process's loss
    with respect to its own rows. Every process computes the same global loss, so after DDP
    averages the parameter gradients they equal those of one process on the whole batch.
    Outside DDP ``x`` is returned as it is."""
    if distributed_world() == 1:
        return x
    return _GatherWithGrad.apply(x)


class _GatherWithGrad(torch.autograd.Function):
    """all_gather forward; backward sums every process's gradient and keeps this process's rows."""

    @staticmethod
    def forward(ctx, x):
        dist = torch.distributed
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        ctx.rows = (dist.get_rank() * len(x), (dist.get_rank() + 1) * len(x))
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous().clone()
        torch.distributed.all_reduce(grad)
        return grad[ctx.rows[0]:ctx.rows[1]]


def gather_objects(items: list) -> list:
    """A list (e.g. captions) of every DDP process, concatenated in rank order; no gradient."""
    world = distributed_world()
    if world == 1:
        return items
    out = [None] * world
    torch.distributed.all_gather_object(out, items)
    return [x for part in out for x in part]


class InfoNCE(nn.Module):
    """Symmetric InfoNCE on L2-normalised embeddings (text->motion and motion->text).

    ``text_similarity`` (B, B), optional: negatives whose captions nearly duplicate
    the positive's (similarity >= ``filter_threshold``) are removed from the
    softmax, as TMR does, so that "a person walks" is not pushed away from
    another walking clip. Under DDP the phases pass features gathered from every
    process (``gather_batch``), so the negatives are the global batch.
    """

    def __init__(self, temperature: float = 0.07, filter_threshold: float | None = 0.8):
        super().__init__()
        self.temperature, self.filter_threshold = temperature, filter_threshold

    def forward(self, text: torch.Tensor, motion: torch.Tensor,
                text_similarity: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        logits = F.normalize(text, dim=-1) @ F.normalize(motion, dim=-1).T / self.temperature   # (B, B)
        if text_similarity is not None and self.filter_threshold is not None:
            near_duplicate = text_similarity >= self.filter_threshold
            near_duplicate.fill_diagonal_(False)
            logits = logits.masked_fill(near_duplicate, float("-inf"))
        target = torch.arange(len(logits), device=logits.device)
        t2m = F.cross_entropy(logits, target)
        m2t = F.cross_entropy(logits.T, target)
        return {"t2m": t2m, "m2t": m2t, "contrastive": (t2m + m2t) / 2}


def flops_terms(text_lexical: torch.Tensor, motion_lexical: torch.Tensor) -> dict[str, torch.Tensor]:
    """FLOPS regulariser per modality."""
    return {"flops_text": flops_loss(text_lexical), "flops_motion": flops_loss(motion_lexical)}


def quadratic_warmup(step: int, warmup_steps: int, final_weight: float) -> float:
    """Weight ramped up quadratically from 0 to ``final_weight`` over ``warmup_steps`` (SPLADE)."""
    if warmup_steps <= 0 or step >= warmup_steps:
        return final_weight
    return final_weight * (step / warmup_steps) ** 2


def bag_of_words_loss(pooled_logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Grounding term: cross-entropy from softmax(max-pooled logits) to each caption's content
    words (``targets`` (B, V), rows sum to 1, or 0 for a caption without content words).

    The lexical weight log(1 + ReLU(logit)) grows with the logit, so a high share of the
    softmax on the caption's words puts those words on top of the vector. Words outside the
    vocabulary mask have logit -inf and target 0: they add nothing."""
    log_probs = F.log_softmax(pooled_logits.float(), dim=-1)
    per_caption = -torch.where(targets > 0, targets * log_probs, torch.zeros_like(log_probs)).sum(-1)
    has_words = targets.sum(-1) > 0
    return per_caption[has_words].mean() if has_words.any() else pooled_logits.new_zeros(())


def distillation_loss(text: torch.Tensor, motion: torch.Tensor, teacher_text: torch.Tensor,
                      teacher_motion: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL from a teacher's in-batch score distributions to the student's, text->motion and motion->text
    averaged (SPLADE's distillation, on the batch): each row of cosines / temperature is a softmax, and the
    student is asked to rank the batch's other pairs as the teacher does, not only its positive first."""
    def log_probs(t, m):
        logits = F.normalize(t.float(), dim=-1) @ F.normalize(m.float(), dim=-1).T / temperature
        return F.log_softmax(logits, dim=-1), F.log_softmax(logits.T, dim=-1)
    student, teacher = log_probs(text, motion), log_probs(teacher_text.detach(), teacher_motion.detach())
    return sum(F.kl_div(s, t, log_target=True, reduction="batchmean") for s, t in zip(student, teacher)) / 2


def side_word_loss(pooled: torch.Tensor, mirror_pooled: torch.Tensor, rows: torch.Tensor, own: torch.Tensor,
                   other: torch.Tensor) -> torch.Tensor:
    """Logistic ranking of side words on (P, V) pooled motion logits and their mirror images': for each
    (row, the side word its caption names, that word's mirror) the motion must score its own side above the
    other, and its mirror image the other side above its own. Read on the logits, not the weights, because a
    side word whose logit stays below 0 on both sides gets no gradient through log(1 + ReLU) at all."""
    z, zm = pooled.float(), mirror_pooled.float()
    return (F.softplus(z[rows, other] - z[rows, own]) + F.softplus(zm[rows, own] - zm[rows, other])).mean() / 2


def side_lift_loss(pooled: torch.Tensor, mirror_pooled: torch.Tensor, rows: torch.Tensor, own: torch.Tensor,
                   other: torch.Tensor, margin: float) -> torch.Tensor:
    """Hinge lifting the side word each motion shows above +MARGIN on (P, V) pooled logits: the caption's side
    on the motion, its mirror on the mirror image. The ranking (``side_word_loss``) is met with both side words
    below 0, where both weights are 0; this asks the shown side into the vector."""
    z, zm = pooled.float(), mirror_pooled.float()
    return (F.relu(margin - z[rows, own]) + F.relu(margin - zm[rows, other])).mean() / 2


def mirror_pair_loss(text: torch.Tensor, motion: torch.Tensor, mirror_text: torch.Tensor,
                     mirror_motion: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE within each pair and its mirror image (P pairs): a caption that names a side must
    score its own motion above that motion's mirror image, and a motion its own caption above the caption
    with the sides swapped. In-batch negatives almost never differ by the side alone, so without this the
    contrastive loss hardly asks a vector to say which side moved."""
    t = F.normalize(torch.stack([text, mirror_text], 1).float(), dim=-1)         # (P, 2, D)
    m = F.normalize(torch.stack([motion, mirror_motion], 1).float(), dim=-1)
    logits = t @ m.transpose(1, 2) / temperature                                  # (P, 2, 2)
    target = torch.arange(2, device=logits.device).repeat(len(logits))
    return (F.cross_entropy(logits.reshape(-1, 2), target)
            + F.cross_entropy(logits.transpose(1, 2).reshape(-1, 2), target)) / 2
