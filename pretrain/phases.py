"""The pretraining phases as loss functions: (model, batch, settings) -> dict of named terms.

Each returns raw terms plus "loss", the weighted sum the trainer backpropagates.
They are called through ``pretrain.trainer.PhaseModule.forward`` so that DDP sees every pass.

- lexmlm:  encoder MLM (mask 0.3) + bottleneck-decoder MLM on a copy masked at 0.5.
- cmmm:    masked patch reconstruction (mask 0.7, MSE on hidden patches) + InfoNCE
           between two differently masked views of the same clip.
- lexmmm:  the motion lexical bottleneck drives the (frozen) phase-1 decoder, which
           reconstructs the paired caption masked at 0.5.
- lexcmlp: symmetric InfoNCE on L2-normalised sparse vectors + FLOPS per modality,
           its weight ramped up quadratically.
- dense:   symmetric InfoNCE on pooled dense projections (TMR / MotionPatches style).

Grounding (on by default, as ``pretrain/configs/cpu-small.json`` also sets them; the own-words stage off):
- ``identity``: LexMLM also asks every unmasked word to predict itself, so a caption's
  own words lead its text vector from the first phase on;
- ``bow_text`` / ``bow_motion``: a bag-of-words cross-entropy from the pooled logits to the
  caption's content words, IDF-weighted (LexMMM: motion; LexCMLP: both). Text at 1.5: at 1 the
  network's own text recall@10 was 0.895, at 1.5 0.918, at 2 0.929, retrieval within noise;
- ``own_words_steps``: for its first steps LexCMLP keeps text vectors on their own words
  (STAIR's grounding stage), then releases them.

Selectivity (off unless a config sets it, ``select_motion`` / ``select_text`` > 0): a multi-label hinge
on the pooled logits of LexCMLP. A caption's content words are asked above +``select_margin``; the
other captions' words in the batch (less those sharing a stem with one of its own) below
-``select_margin``, where the lexical weight log(1 + ReLU(logit)) is exactly 0. The softmax grounding
ranks a caption's words first but never asks an absent word to be 0; this term does.
``absent_motion`` / ``absent_text`` weigh the same downward hinge over every word of the vocabulary that
a caption neither holds nor shares a stem with, summed per vector: an L1 on the logits of absent words,
where FLOPS also shrinks the caption's own words.

Localisation (off unless a config sets ``localise_motion`` > 0): LexCMLP also joins each clip of the batch
with the next one (a crop of each, one window long in all) and asks every caption word that one clip's
caption holds and the other's does not to peak on that clip's time patches: its largest logit there above
its largest logit on the partner's patches by ``select_margin``. A clip alone never says where a word
happens; a word timeline (``word_timelines``) reads exactly these per-patch logits.

Distillation (off unless a config sets ``distil`` > 0; a stage started with ``--init``): LexCMLP also asks
the in-batch score distributions of its text and motion vectors to match those of the ``--init``
checkpoint, kept frozen (``distillation_loss``), so that a stage that sparsifies may keep the ranking it began from.

Mirror pairs (off unless a config sets ``mirror_pairs`` > 0; LexCMLP and dense): each training pair whose
caption names a side ("turns left") also brings its mirror image, the same crop reflected with the caption's
sides swapped (``MotionTextDataset``), and ``mirror_pair_loss`` asks each caption to pick its own motion over
the mirror image, and each motion its own caption over the swapped one. Random mirroring alone leaves the
side to the rare batch that holds both a left and a right turn.

Side words (off unless a config sets ``side_words`` > 0; LexCMLP, on the same pairs): the pair term can tell a
motion from its mirror image by any word, so the side may never reach the words *left* and *right*.
``side_word_loss`` asks the pooled logits of each motion to rank the side word its caption names above that
word's mirror, and the mirror image the reverse. ``side_lift`` (``side_lift_loss``) also asks the shown side word's
logit above +``select_margin``: ranked below 0, both words still weigh 0.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lexmotion.errors import LexmotionError
from lexmotion.models.lexical import lexical_weights
from lexmotion.models.losses import (
    InfoNCE,
    bag_of_words_loss,
    distillation_loss,
    flops_terms,
    gather_batch,
    gather_objects,
    mirror_pair_loss,
    quadratic_warmup,
    side_lift_loss,
    side_word_loss,
)
from lexmotion.models.model import mask_tokens
from lexmotion.models.vocabulary import caption_targets, caption_word_ids

PHASES = ("lexmlm", "cmmm", "lexmmm", "lexcmlp")
ALL_PHASES = PHASES + ("dense",)
MIRROR_PAIR_PHASES = ("lexcmlp", "dense")      # the phases that read the mirror_pairs setting


def wants_pairs(phase: str, settings) -> bool:
    """Whether PHASE's training items carry their mirror pairs: a term that reads them has a weight."""
    return ((phase in MIRROR_PAIR_PHASES and settings.mirror_pairs > 0)
            or (phase == "lexcmlp" and (settings.side_words > 0 or settings.side_lift > 0)))


@dataclass
class PhaseSettings:
    mlm_ratio: float = 0.3
    decoder_mask_ratio: float = 0.5
    motion_mask_ratio: float = 0.7
    # LexCMLP and dense InfoNCE: cosines of non-negative sparse vectors bunch up, and 0.02 spreads
    # them (the measured cosines: docs/grounding.md).
    temperature: float = 0.02
    view_temperature: float = 0.1
    flops_text: float = 1e-3
    flops_motion: float = 1e-3
    flops_warmup_steps: int = 500
    duplicate_threshold: float | None = 0.8   # word-set Jaccard above which a caption is not a negative
    identity: float = 1.0            # LexMLM: weight of "each unmasked word predicts itself"
    bow_text: float = 1.5            # LexCMLP: text vector -> its caption's content words
    bow_motion: float = 1.0          # LexMMM, LexCMLP: motion vector -> its caption's content words
    own_words_steps: int = 0         # LexCMLP: text vectors limited to their own words for these steps
    select_motion: float = 0.0       # LexCMLP: weight of the selectivity hinge on motion vectors
    select_text: float = 0.0         # LexCMLP: the same on text vectors
    select_margin: float = 1.0       # the hinge's margin, in logits
    absent_motion: float = 0.0       # LexCMLP: weight of the hinge on every absent word of motion vectors
    absent_text: float = 0.0         # the same on text vectors
    localise_motion: float = 0.0     # LexCMLP: weight of the localisation hinge on joined pairs of clips
    distil: float = 0.0              # LexCMLP: weight of matching the frozen --init checkpoint's batch scores
    mirror_pairs: float = 0.0        # LexCMLP, dense: weight of telling a side-naming pair from its mirror image
    side_words: float = 0.0          # LexCMLP: weight of ranking the named side's word above its mirror's (pairs)
    side_lift: float = 0.0           # LexCMLP: weight of lifting the shown side word above +select_margin (pairs)

    def __post_init__(self):
        # A config file reaches here unchecked: a negative temperature would train with the similarity
        # inverted, a negative weight would reward what its term penalises.
        for name in ("temperature", "view_temperature"):
            if not getattr(self, name) > 0:
                raise LexmotionError(f"settings: {name} must be positive, got {getattr(self, name)}")
        for name in ("flops_text", "flops_motion", "identity", "bow_text", "bow_motion", "own_words_steps",
                     "select_motion", "select_text", "select_margin", "absent_motion", "absent_text",
                     "localise_motion", "distil", "mirror_pairs", "side_words", "side_lift"):
            if getattr(self, name) < 0:
                raise LexmotionError(f"settings: {name} must not be negative, got {getattr(self, name)}")


def _mlm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1), ignore_index=-100)


def lexmlm(model, batch, settings: PhaseSettings, step: int) -> dict:
    ids, mask = batch["text_ids"], batch["text_mask"]
    real = model.real_tokens(ids, mask)
    vocab = len(model.tokenizer)
    enc_ids, enc_labels = mask_tokens(ids, real, settings.mlm_ratio, model.tokenizer.mask_token_id, vocab)
    logits, _ = model.text_logits(enc_ids, mask)
    encoder_mlm = _mlm_loss(logits, enc_labels)
    dec_ids, dec_labels = mask_tokens(ids, real, settings.decoder_mask_ratio, model.tokenizer.mask_token_id, vocab)
    # Pool over the caption's word positions, [MASK]ed ones included: a short caption
    # may have all its words masked, and the encoder's guesses there are the point.
    pooled = model.text_bottleneck_logits(logits, real)
    decoder_mlm = _mlm_loss(model.decode_from_bottleneck(pooled, dec_ids, mask), dec_labels)
    terms = {"encoder_mlm": encoder_mlm, "decoder_mlm": decoder_mlm, "loss": encoder_mlm + decoder_mlm}
    if settings.identity:
        # Unmasked words predict themselves: nothing else teaches a fresh head that a word
        # is its own best description (BERT's head gets this from the 10% kept tokens only).
        kept = real & (enc_labels == -100) & (enc_ids == ids)
        terms["identity"] = _mlm_loss(logits, ids.masked_fill(~kept, -100))
        terms["loss"] = terms["loss"] + settings.identity * terms["identity"]
    return terms


def _targets(model, texts: list[str], mask: torch.Tensor) -> torch.Tensor:
    """(B, V) IDF-weighted caption-word targets inside ``mask``, each row summing to 1 (or 0)."""
    weights = getattr(model, "idf", None)
    targets = caption_targets(model.tokenizer, texts, None if weights is None else weights.cpu())
    targets = targets.to(mask.device) * mask
    return targets / targets.sum(-1, keepdim=True).clamp(min=1e-9)


def selective_labels(tokenizer, texts: list[str], mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The words of a batch's captions inside ``mask`` -> (their ids (A,), labels (B, A)): +1 a caption's
    own content word, -1 another caption's word, 0 another caption's word that shares a stem with one
    of its own (walking for a caption that says walks: neither shown nor absent)."""
    from lexmotion.models.vocabulary import word_stem
    own = [[i for i in caption_word_ids(tokenizer, t) if mask[i] > 0] for t in texts]
    ids = sorted({i for words in own for i in words})
    stems = dict(zip(ids, (word_stem(t) for t in tokenizer.convert_ids_to_tokens(ids))))
    column = {i: a for a, i in enumerate(ids)}
    labels = torch.full((len(texts), len(ids)), -1.0)
    for b, words in enumerate(own):
        kin = {stems[i] for i in words}
        for a, i in enumerate(ids):
            if stems[i] in kin:
                labels[b, a] = 0.0
        labels[b, [column[i] for i in words]] = 1.0
    return torch.tensor(ids, dtype=torch.long), labels


def selective_loss(pooled_logits: torch.Tensor, ids: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    """Hinge on (B, V) pooled logits: shown words (+1) above +margin, absent words (-1) below -margin,
    each side averaged on its own so that the many absent words do not drown the few shown."""
    z = pooled_logits[:, ids.to(pooled_logits.device)].float()
    labels = labels.to(z.device)
    shown, absent = labels > 0, labels < 0
    zero = z.new_zeros(())
    up = F.relu(margin - z[shown]).mean() if shown.any() else zero
    down = F.relu(z[absent] + margin).mean() if absent.any() else zero
    return up + down


def _kin(tokenizer, ids: list[int]) -> list[int]:
    """Every vocabulary id sharing a stem with one of IDS (IDS included)."""
    from lexmotion.models.vocabulary import stem_groups
    groups, stem_of = stem_groups(tokenizer)
    return sorted({k for i in ids for k in groups[stem_of[i]]})


def absent_loss(pooled_logits: torch.Tensor, tokenizer, texts: list[str], margin: float) -> torch.Tensor:
    """Every word of (B, V) pooled logits that a caption neither holds nor shares a stem with, pushed below
    -margin: relu(logit + margin) summed over those words, averaged over captions."""
    z = pooled_logits.float()
    kept = torch.zeros_like(z, dtype=torch.bool)
    for b, text in enumerate(texts):
        kept[b, _kin(tokenizer, caption_word_ids(tokenizer, text))] = True
    return F.relu(z + margin).masked_fill(kept, 0.0).sum(-1).mean()


def _random_patch_mask(time_mask: torch.Tensor, parts: int, ratio: float) -> torch.Tensor:
    """(B, n_t) real patches -> (B, n_t, parts) True where hidden; at least one visible and one hidden."""
    B, n_t = time_mask.shape
    scores = torch.rand(B, n_t, parts, device=time_mask.device)
    hidden = (scores < ratio) & time_mask[..., None]
    flat_real = time_mask[..., None].expand(B, n_t, parts).reshape(B, -1)
    flat = hidden.reshape(B, -1)
    # keep at least one real patch visible: the real patch with the highest score
    visible_pick = (scores.reshape(B, -1).masked_fill(~flat_real, -1)).argmax(dim=1)
    flat[torch.arange(B), visible_pick] = False
    return flat.view(B, n_t, parts)


def cmmm(model, batch, settings: PhaseSettings, step: int) -> dict:
    motion, mask = batch["motion"], batch["mask"]
    encoder = model.motion_encoder
    targets = encoder.patchify(motion * mask[..., None])                     # per part (B, n_t, w*d)
    n_t = targets[0].shape[1]
    time_mask = F.pad(mask, (0, n_t * encoder.config.patch_frames - mask.shape[1])).view(
        mask.shape[0], n_t, -1).any(-1)
    views, errors = [], []
    for _ in range(2):
        patch_mask = _random_patch_mask(time_mask, len(targets), settings.motion_mask_ratio)
        out = model.motion_tokens(motion, mask, patch_mask)
        tokens = out["tokens"].view(mask.shape[0], n_t, len(targets), -1)    # (B, n_t, parts, D)
        for p, head in enumerate(model.reconstruction):
            err = ((head(tokens[:, :, p]).float() - targets[p]) ** 2).mean(-1)  # (B, n_t)
            errors.append(err[patch_mask[:, :, p]])
        pooled = (out["tokens"] * out["token_mask"][..., None]).sum(1) / out["token_mask"].sum(1, keepdim=True)
        views.append(model.view_projection(pooled))
    reconstruction = torch.cat(errors).mean()
    if model.training:                     # under DDP, every process's views are negatives
        views = [gather_batch(v) for v in views]
    contrastive = InfoNCE(settings.view_temperature, None)(views[0], views[1])["contrastive"]
    return {"reconstruction": reconstruction, "view_contrastive": contrastive, "loss": reconstruction + contrastive}


def lexmmm(model, batch, settings: PhaseSettings, step: int) -> dict:
    ids, mask = batch["text_ids"], batch["text_mask"]
    real = model.real_tokens(ids, mask)
    pooled = model.motion_pooled_logits(batch["motion"], batch["mask"])
    dec_ids, dec_labels = mask_tokens(ids, real, settings.decoder_mask_ratio, model.tokenizer.mask_token_id,
                                      len(model.tokenizer))
    decoder_mlm = _mlm_loss(model.decode_from_bottleneck(pooled, dec_ids, mask), dec_labels)
    terms = {"motion_to_text_mlm": decoder_mlm, "loss": decoder_mlm}
    if settings.bow_motion:
        terms["bow_motion"] = bag_of_words_loss(pooled, _targets(model, batch["texts"], model.motion_mask))
        terms["loss"] = terms["loss"] + settings.bow_motion * terms["bow_motion"]
    return terms


_WORD = re.compile(r"[a-z]+")


def caption_overlap(texts: list[str]) -> torch.Tensor:
    """(B, B) word-set Jaccard similarity of captions, to spot near-duplicate negatives."""
    sets = [set(_WORD.findall(t.lower())) for t in texts]
    return torch.tensor([[len(a & b) / max(len(a | b), 1) for b in sets] for a in sets])


def _global(model, batch, text, motion) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """(text, motion, captions) of the global batch when training under DDP (every process's pairs are
    negatives), of this process's batch otherwise (single process, and validation on rank 0)."""
    if model.training:
        return gather_batch(text), gather_batch(motion), gather_objects(batch["texts"])
    return text, motion, batch["texts"]


def _contrastive(settings: PhaseSettings, text, motion, texts: list[str]) -> dict:
    """InfoNCE over the pairs given (``_global``'s), captions that nearly duplicate a pair's own left out."""
    similarity = caption_overlap(texts).to(text.device) if settings.duplicate_threshold else None
    return InfoNCE(settings.temperature, settings.duplicate_threshold)(text.float(), motion.float(), similarity)


def _lexical_text(model, ids, mask, settings: PhaseSettings, step: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(LexCMLP's text vectors, their pooled logits; None on the inference-free side, which has none)."""
    if model.config.text_side == "inference-free":
        return model.text_lexical(ids, mask), None
    text_pooled = model.text_pooled_logits(ids, mask)
    text = lexical_weights(text_pooled)
    if step < settings.own_words_steps:   # STAIR's first stage: a caption's own words only
        real = model.real_tokens(ids, mask)
        own = torch.zeros_like(text).scatter_(1, ids.masked_fill(~real, 0), real.to(text.dtype))
        text = text * own.clamp(max=1)
    return text, text_pooled


def _add_mirror_pairs(batch, settings: PhaseSettings, text, motion, encode_text, encode_motion, terms: dict) -> None:
    """The mirror-pair term (module docstring), when its weight is set and the batch holds pairs."""
    if not settings.mirror_pairs or "pair_of" not in batch:
        return
    of = batch["pair_of"]
    terms["mirror_pairs"] = mirror_pair_loss(text[of], motion[of], encode_text(batch["pair_text_ids"], batch["pair_text_mask"]),
                                             encode_motion(batch["pair_motion"], batch["pair_mask"]), settings.temperature)
    terms["loss"] = terms["loss"] + settings.mirror_pairs * terms["mirror_pairs"]


def side_word_rows(model, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each side word a caption names (left, clockwise, ...) inside the motion vocabulary, and whose mirror
    it does not name too: (its caption's row, its id, its mirror's id), each (N,)."""
    order, mask = model.mirror_words().cpu(), model.motion_mask.cpu()
    found = [(b, i, int(order[i])) for b, text in enumerate(texts)
             for ids in [set(caption_word_ids(model.tokenizer, text))] for i in ids
             if int(order[i]) != i and int(order[i]) not in ids and mask[i] > 0 and mask[order[i]] > 0]
    return tuple(torch.tensor([f[k] for f in found], dtype=torch.long) for k in range(3))


def _add_side_words(model, batch, settings: PhaseSettings, pooled, encode_pooled, terms: dict) -> None:
    """The side-word terms (module docstring), when a weight is set and the batch's pairs name a side word
    (ENCODE_POOLED: the pairs' motions -> their pooled logits)."""
    if not (settings.side_words or settings.side_lift) or "pair_of" not in batch:
        return
    of = batch["pair_of"]
    rows, own, other = (t.to(pooled.device) for t in side_word_rows(model, [batch["texts"][int(b)] for b in of]))
    if not len(rows):
        return
    paired, mirror_pooled = pooled[of], encode_pooled(batch["pair_motion"], batch["pair_mask"])
    if settings.side_words:
        terms["side_words"] = side_word_loss(paired, mirror_pooled, rows, own, other)
        terms["loss"] = terms["loss"] + settings.side_words * terms["side_words"]
    if settings.side_lift:
        terms["side_lift"] = side_lift_loss(paired, mirror_pooled, rows, own, other, settings.select_margin)
        terms["loss"] = terms["loss"] + settings.side_lift * terms["side_lift"]


def lexcmlp(model, batch, settings: PhaseSettings, step: int) -> dict:
    inference_free = model.config.text_side == "inference-free"
    text, text_pooled = _lexical_text(model, batch["text_ids"], batch["text_mask"], settings, step)
    motion_pooled = model.motion_pooled_logits(batch["motion"], batch["mask"])
    motion = lexical_weights(motion_pooled)
    every_text, every_motion, texts = _global(model, batch, text, motion)
    terms = _contrastive(settings, every_text, every_motion, texts)
    terms.update(flops_terms(text.float(), motion.float()))
    w_text = 0.0 if inference_free else quadratic_warmup(step, settings.flops_warmup_steps, settings.flops_text)
    w_motion = quadratic_warmup(step, settings.flops_warmup_steps, settings.flops_motion)
    terms["loss"] = terms["contrastive"] + w_text * terms["flops_text"] + w_motion * terms["flops_motion"]
    if settings.bow_text and not inference_free:
        terms["bow_text"] = bag_of_words_loss(text_pooled, _targets(model, batch["texts"], model.vocab_mask))
        terms["loss"] = terms["loss"] + settings.bow_text * terms["bow_text"]
    if settings.bow_motion:
        terms["bow_motion"] = bag_of_words_loss(motion_pooled, _targets(model, batch["texts"], model.motion_mask))
        terms["loss"] = terms["loss"] + settings.bow_motion * terms["bow_motion"]
    sides = {"select_motion": (motion_pooled, model.motion_mask)}
    if not inference_free:
        sides["select_text"] = (text_pooled, model.vocab_mask)
    _add_selectivity(model, batch["texts"], settings, sides, terms)
    mirror = {}                     # the pairs' pooled logits, encoded once for both terms that read them

    def mirror_pooled(x, m):
        if "pooled" not in mirror:
            mirror["pooled"] = model.motion_pooled_logits(x, m)
        return mirror["pooled"]
    _add_mirror_pairs(batch, settings, text, motion, lambda i, m: _lexical_text(model, i, m, settings, step)[0],
                      lambda x, m: lexical_weights(mirror_pooled(x, m)), terms)
    _add_side_words(model, batch, settings, motion_pooled, mirror_pooled, terms)
    if settings.localise_motion:
        terms["localise_motion"] = localisation_loss(model, batch, settings.select_margin)
        terms["loss"] = terms["loss"] + settings.localise_motion * terms["localise_motion"]
    if settings.distil and "teacher" in batch:     # validation batches carry no teacher scores
        teacher_text, teacher_motion = batch["teacher"]
        if model.training:
            teacher_text, teacher_motion = gather_batch(teacher_text), gather_batch(teacher_motion)
        terms["distil"] = distillation_loss(every_text, every_motion, teacher_text, teacher_motion,
                                            settings.temperature)
        terms["loss"] = terms["loss"] + settings.distil * terms["distil"]
    return terms


@torch.no_grad()
def teacher_vectors(teacher, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """A frozen checkpoint's text and motion vectors of BATCH as the network gives them (no own-word floor, no
    pruning), as ``lexcmlp`` computes its own."""
    return (teacher.text_lexical(batch["text_ids"], batch["text_mask"], own_word_floor=False),
            teacher.motion_lexical(batch["motion"], batch["mask"], prune=False))


def join_pairs(motion: torch.Tensor, mask: torch.Tensor, patch: int, max_frames: int,
               generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each clip b of a (B, T, F) batch joined with clip b+1 (cyclic): a random crop of b, then one of b+1,
    max_frames in all, the seam on a patch boundary. -> joined (B, T', F), its frame mask, and (B,) the
    number of time patches that come from clip b."""
    lengths = mask.sum(1).tolist()
    B = len(lengths)
    least = min(2 * patch, max_frames // 2)          # the seam leaves each side room for this much
    pieces, firsts = [], []
    for b in range(B):
        p = (b + 1) % B
        la, lp = int(lengths[b]), int(lengths[p])
        cut = int(torch.randint(least, max_frames - least + 1, (), generator=generator)) // patch * patch
        take_a = max(1, min(la, cut))
        take_a = take_a // patch * patch or take_a    # whole patches, so the seam is not padding
        slots = -(-take_a // patch)                   # the first clip's patches; the seam lies after them
        take_p = max(0, min(lp, max_frames - slots * patch))
        sa = int(torch.randint(la - take_a + 1, (), generator=generator))
        sp = int(torch.randint(lp - take_p + 1, (), generator=generator))
        pieces.append((motion[b, sa:sa + take_a], slots * patch - take_a, motion[p, sp:sp + take_p]))
        firsts.append(slots)
    T = max(len(a) + pad + len(c) for a, pad, c in pieces)
    joined = motion.new_zeros(B, T, motion.shape[-1])
    joined_mask = torch.zeros(B, T, dtype=torch.bool, device=mask.device)
    for b, (a, pad, c) in enumerate(pieces):
        joined[b, :len(a)] = a
        joined[b, len(a) + pad:len(a) + pad + len(c)] = c
        joined_mask[b, :len(a)] = True
        joined_mask[b, len(a) + pad:len(a) + pad + len(c)] = True
    return joined, joined_mask, torch.tensor(firsts, device=mask.device)


def localisation_loss(model, batch, margin: float) -> torch.Tensor:
    """The localisation hinge (module docstring): on clips joined in pairs (``join_pairs``), a word of one
    clip's caption that the partner's caption does not hold (nor a word of its stem) must reach a higher
    logit on its own clip's patches than on the partner's, by MARGIN."""
    encoder = model.motion_encoder.config
    joined, joined_mask, firsts = join_pairs(batch["motion"], batch["mask"], encoder.patch_frames, encoder.max_frames)
    out = model.motion_tokens(joined, joined_mask)
    ids, labels = selective_labels(model.tokenizer, batch["texts"], model.motion_mask)
    if not len(ids):
        return joined.new_zeros(())
    z = model.motion_head(out["time_tokens"], ids.to(joined.device)).float()          # (B, n_t, A)
    return localisation_hinge(z, firsts, out["time_mask"], labels.to(z.device), margin)


def localisation_hinge(z: torch.Tensor, firsts: torch.Tensor, time_mask: torch.Tensor, labels: torch.Tensor,
                       margin: float) -> torch.Tensor:
    """(B, n_t, A) per-patch logits of joined pairs whose first FIRSTS[b] patches are clip b's (the rest clip
    b+1's), (B, A) ``selective_labels`` of the clips' captions -> the mean of relu(margin - gap) over every
    word that one clip's caption holds and the other's lacks, gap = its peak on its clip - its peak on the other."""
    in_first = torch.arange(z.shape[1], device=z.device)[None] < firsts[:, None]
    own = z.masked_fill(~(in_first & time_mask)[..., None], float("-inf")).amax(1)       # (B, A)
    other = z.masked_fill(~(~in_first & time_mask)[..., None], float("-inf")).amax(1)
    partner = labels.roll(-1, 0)
    first_only, second_only = (labels > 0) & (partner < 0), (partner > 0) & (labels < 0)
    gaps = torch.cat([(own - other)[first_only], (other - own)[second_only]])
    gaps = gaps[torch.isfinite(gaps)]                 # a side with no real patch says nothing
    return F.relu(margin - gaps).mean() if len(gaps) else z.new_zeros(())


def _add_selectivity(model, texts: list[str], settings: PhaseSettings, sides: dict, terms: dict) -> None:
    """The selectivity hinge of each side whose weight is set (SIDES: term name -> (pooled logits, mask))."""
    for name, (pooled, mask) in sides.items():
        if getattr(settings, name):
            ids, labels = selective_labels(model.tokenizer, texts, mask)
            terms[name] = selective_loss(pooled, ids, labels, settings.select_margin)
            terms["loss"] = terms["loss"] + getattr(settings, name) * terms[name]
        absent = name.replace("select", "absent")
        if getattr(settings, absent):
            terms[absent] = absent_loss(pooled, model.tokenizer, texts, settings.select_margin)
            terms["loss"] = terms["loss"] + getattr(settings, absent) * terms[absent]


def dense(model, batch, settings: PhaseSettings, step: int) -> dict:
    text = model.text_dense(batch["text_ids"], batch["text_mask"])
    motion = model.motion_dense(batch["motion"], batch["mask"])
    terms = _contrastive(settings, *_global(model, batch, text, motion))
    terms["loss"] = terms["contrastive"]
    _add_mirror_pairs(batch, settings, text, motion, model.text_dense, model.motion_dense, terms)
    return terms


LOSSES = {"lexmlm": lexmlm, "cmmm": cmmm, "lexmmm": lexmmm, "lexcmlp": lexcmlp, "dense": dense}
