"""Skeleton registry: joints, parents, the six body parts, mirror pairs and
the named correspondence to one canonical body layout.

Every source skeleton maps a subset of its joints onto ``CANONICAL_JOINTS``,
17 joints that all registered skeletons share. Features are computed on the
canonical joints, so clips of different skeletons can be mixed in one model.
Skeletons that are not registered (a BVH of an unknown rig) are derived from
their joint names and hierarchy by :func:`skeleton_from_names`.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from lexmotion.errors import LexmotionError

PARTS = ("root", "torso", "left_arm", "right_arm", "left_leg", "right_leg")

CANONICAL_JOINTS = (
    "pelvis", "spine", "chest", "neck", "head",
    "l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist",
    "l_hip", "l_knee", "l_ankle", "r_hip", "r_knee", "r_ankle",
)
CANONICAL_PARTS = {
    "root": ("pelvis",),
    "torso": ("spine", "chest", "neck", "head"),
    "left_arm": ("l_shoulder", "l_elbow", "l_wrist"),
    "right_arm": ("r_shoulder", "r_elbow", "r_wrist"),
    "left_leg": ("l_hip", "l_knee", "l_ankle"),
    "right_leg": ("r_hip", "r_knee", "r_ankle"),
}


@dataclass(frozen=True)
class Skeleton:
    name: str
    joints: tuple[str, ...]
    parents: tuple[int, ...]
    parts: dict[str, tuple[str, ...]]          # part -> joint names of this skeleton
    mirror_pairs: tuple[tuple[str, str], ...]  # (left joint, right joint)
    canonical: dict[str, str]                  # canonical joint -> joint name of this skeleton
    description: str = ""

    def __post_init__(self):
        if len(self.joints) != len(self.parents):
            raise ValueError(f"skeleton {self.name}: {len(self.joints)} joints but {len(self.parents)} parents")
        for j, p in enumerate(self.parents):
            if not (p == -1 and j == 0) and not (0 <= p < j):
                raise ValueError(f"skeleton {self.name}: joint {self.joints[j]} must come after its parent")
        missing = [c for c in CANONICAL_JOINTS if self.canonical.get(c) not in self.joints]
        if missing:
            raise ValueError(f"skeleton {self.name}: no joint for canonical {missing}")
        if set(self.parts) != set(PARTS):
            raise ValueError(f"skeleton {self.name}: parts must be exactly {PARTS}")

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        return self.joints.index(joint)

    def canonical_indices(self) -> list[int]:
        """Indices of this skeleton's joints in ``CANONICAL_JOINTS`` order."""
        return [self.index(self.canonical[c]) for c in CANONICAL_JOINTS]

    def mirror_permutation(self) -> list[int]:
        """perm[j] = index of the joint that j becomes after a left/right mirror."""
        perm = list(range(self.num_joints))
        for left, right in self.mirror_pairs:
            i, k = self.index(left), self.index(right)
            perm[i], perm[k] = k, i
        return perm

    def to_dict(self) -> dict:
        return {"name": self.name, "joints": list(self.joints), "parents": list(self.parents),
                "parts": {k: list(v) for k, v in self.parts.items()},
                "mirror_pairs": [list(p) for p in self.mirror_pairs],
                "canonical": dict(self.canonical), "description": self.description}

    @classmethod
    def from_dict(cls, d: dict) -> "Skeleton":
        return cls(name=d["name"], joints=tuple(d["joints"]), parents=tuple(d["parents"]),
                   parts={k: tuple(v) for k, v in d["parts"].items()},
                   mirror_pairs=tuple(tuple(p) for p in d["mirror_pairs"]),
                   canonical=dict(d["canonical"]), description=d.get("description", ""))


# --- registered skeletons -----------------------------------------------------

KITML_CMU = Skeleton(
    name="kitml-cmu",
    description="CMU mocap retargeted onto one character (kitml-cmu data), 21 joints",
    joints=("hip", "abdomen", "rButtock", "lButtock", "chest", "rThigh", "lThigh", "neck",
            "rCollar", "lCollar", "rShin", "lShin", "head", "rShldr", "lShldr", "rFoot",
            "lFoot", "rForeArm", "lForeArm", "rHand", "lHand"),
    parents=(-1, 0, 0, 0, 1, 2, 3, 4, 4, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 17, 18),
    parts={"root": ("hip",), "torso": ("abdomen", "chest", "neck", "head"),
           "left_arm": ("lCollar", "lShldr", "lForeArm", "lHand"),
           "right_arm": ("rCollar", "rShldr", "rForeArm", "rHand"),
           "left_leg": ("lButtock", "lThigh", "lShin", "lFoot"),
           "right_leg": ("rButtock", "rThigh", "rShin", "rFoot")},
    mirror_pairs=(("lButtock", "rButtock"), ("lThigh", "rThigh"), ("lCollar", "rCollar"),
                  ("lShin", "rShin"), ("lShldr", "rShldr"), ("lFoot", "rFoot"),
                  ("lForeArm", "rForeArm"), ("lHand", "rHand")),
    canonical={"pelvis": "hip", "spine": "abdomen", "chest": "chest", "neck": "neck", "head": "head",
               "l_shoulder": "lShldr", "l_elbow": "lForeArm", "l_wrist": "lHand",
               "r_shoulder": "rShldr", "r_elbow": "rForeArm", "r_wrist": "rHand",
               "l_hip": "lThigh", "l_knee": "lShin", "l_ankle": "lFoot",
               "r_hip": "rThigh", "r_knee": "rShin", "r_ankle": "rFoot"},
)

BANDAI = Skeleton(
    name="bandai",
    description="Bandai Namco Research Motiondataset BVH rig, 22 joints (joint_Root is the ground projection)",
    joints=("joint_Root", "Hips", "Spine", "Chest", "Neck", "Head",
            "Shoulder_L", "UpperArm_L", "LowerArm_L", "Hand_L",
            "Shoulder_R", "UpperArm_R", "LowerArm_R", "Hand_R",
            "UpperLeg_L", "LowerLeg_L", "Foot_L", "Toes_L",
            "UpperLeg_R", "LowerLeg_R", "Foot_R", "Toes_R"),
    parents=(-1, 0, 1, 2, 3, 4, 3, 6, 7, 8, 3, 10, 11, 12, 1, 14, 15, 16, 1, 18, 19, 20),
    parts={"root": ("joint_Root", "Hips"), "torso": ("Spine", "Chest", "Neck", "Head"),
           "left_arm": ("Shoulder_L", "UpperArm_L", "LowerArm_L", "Hand_L"),
           "right_arm": ("Shoulder_R", "UpperArm_R", "LowerArm_R", "Hand_R"),
           "left_leg": ("UpperLeg_L", "LowerLeg_L", "Foot_L", "Toes_L"),
           "right_leg": ("UpperLeg_R", "LowerLeg_R", "Foot_R", "Toes_R")},
    mirror_pairs=(("Shoulder_L", "Shoulder_R"), ("UpperArm_L", "UpperArm_R"),
                  ("LowerArm_L", "LowerArm_R"), ("Hand_L", "Hand_R"),
                  ("UpperLeg_L", "UpperLeg_R"), ("LowerLeg_L", "LowerLeg_R"),
                  ("Foot_L", "Foot_R"), ("Toes_L", "Toes_R")),
    canonical={"pelvis": "Hips", "spine": "Spine", "chest": "Chest", "neck": "Neck", "head": "Head",
               "l_shoulder": "UpperArm_L", "l_elbow": "LowerArm_L", "l_wrist": "Hand_L",
               "r_shoulder": "UpperArm_R", "r_elbow": "LowerArm_R", "r_wrist": "Hand_R",
               "l_hip": "UpperLeg_L", "l_knee": "LowerLeg_L", "l_ankle": "Foot_L",
               "r_hip": "UpperLeg_R", "r_knee": "LowerLeg_R", "r_ankle": "Foot_R"},
)

HUMANML3D = Skeleton(
    name="humanml3d",
    description="HumanML3D new_joints: the 22 SMPL body joints",
    joints=("pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
            "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
            "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
            "left_elbow", "right_elbow", "left_wrist", "right_wrist"),
    parents=(-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19),
    parts={"root": ("pelvis",), "torso": ("spine1", "spine2", "spine3", "neck", "head"),
           "left_arm": ("left_collar", "left_shoulder", "left_elbow", "left_wrist"),
           "right_arm": ("right_collar", "right_shoulder", "right_elbow", "right_wrist"),
           "left_leg": ("left_hip", "left_knee", "left_ankle", "left_foot"),
           "right_leg": ("right_hip", "right_knee", "right_ankle", "right_foot")},
    mirror_pairs=(("left_hip", "right_hip"), ("left_knee", "right_knee"),
                  ("left_ankle", "right_ankle"), ("left_foot", "right_foot"),
                  ("left_collar", "right_collar"), ("left_shoulder", "right_shoulder"),
                  ("left_elbow", "right_elbow"), ("left_wrist", "right_wrist")),
    canonical={"pelvis": "pelvis", "spine": "spine1", "chest": "spine3", "neck": "neck", "head": "head",
               "l_shoulder": "left_shoulder", "l_elbow": "left_elbow", "l_wrist": "left_wrist",
               "r_shoulder": "right_shoulder", "r_elbow": "right_elbow", "r_wrist": "right_wrist",
               "l_hip": "left_hip", "l_knee": "left_knee", "l_ankle": "left_ankle",
               "r_hip": "right_hip", "r_knee": "right_knee", "r_ankle": "right_ankle"},
)

# KIT-ML MMM joints in the order of the Guo ("new_joints") layout. Sides follow
# Guo et al.'s processing code (r_hip=11, l_hip=16, right shoulder=5).
KITML_MMM = Skeleton(
    name="kitml-mmm",
    description="KIT-ML MMM joints as in the HumanML3D/KIT-ML new_joints layout, 21 joints",
    joints=("root", "BP", "BT", "BLN", "BUN", "RS", "RE", "RW", "LS", "LE", "LW",
            "RH", "RK", "RA", "RMrot", "RF", "LH", "LK", "LA", "LMrot", "LF"),
    parents=(-1, 0, 1, 2, 3, 3, 5, 6, 3, 8, 9, 0, 11, 12, 13, 14, 0, 16, 17, 18, 19),
    parts={"root": ("root",), "torso": ("BP", "BT", "BLN", "BUN"),
           "left_arm": ("LS", "LE", "LW"), "right_arm": ("RS", "RE", "RW"),
           "left_leg": ("LH", "LK", "LA", "LMrot", "LF"),
           "right_leg": ("RH", "RK", "RA", "RMrot", "RF")},
    mirror_pairs=(("LS", "RS"), ("LE", "RE"), ("LW", "RW"), ("LH", "RH"), ("LK", "RK"),
                  ("LA", "RA"), ("LMrot", "RMrot"), ("LF", "RF")),
    canonical={"pelvis": "root", "spine": "BP", "chest": "BT", "neck": "BLN", "head": "BUN",
               "l_shoulder": "LS", "l_elbow": "LE", "l_wrist": "LW",
               "r_shoulder": "RS", "r_elbow": "RE", "r_wrist": "RW",
               "l_hip": "LH", "l_knee": "LK", "l_ankle": "LA",
               "r_hip": "RH", "r_knee": "RK", "r_ankle": "RA"},
)

REGISTRY: dict[str, Skeleton] = {s.name: s for s in (KITML_CMU, BANDAI, HUMANML3D, KITML_MMM)}


def get_skeleton(name: str, extra: dict[str, Skeleton] | None = None) -> Skeleton:
    """Look a skeleton up in the registry, then in ``extra`` (a dataset's own skeletons)."""
    if extra and name in extra:
        return extra[name]
    if name in REGISTRY:
        return REGISTRY[name]
    raise LexmotionError(f"unknown skeleton {name!r}; registered: {', '.join(REGISTRY)}")


# --- deriving a skeleton from joint names (any BVH rig) -------------------------

_SEPARATORS = "_.- "


def joint_side(name: str) -> tuple[str | None, str]:
    """('l' | 'r' | None, base name lower-cased without side marker or separators).

    Understands LeftArm, lShldr, LHipJoint, Hand_L, hand.left; "LowerBack" and
    "Root" are not sided (a one-letter prefix must be followed by a capital or a
    separator).
    """
    name = name.rsplit(":", 1)[-1]   # namespaces such as "mixamorig:LeftArm"
    side, rest = None, name
    low = name.lower()
    for s, word in (("l", "left"), ("r", "right")):
        if low.startswith(word) and len(name) > len(word):
            side, rest = s, name[len(word):]
        elif any(low.endswith(sep + word) for sep in _SEPARATORS):
            side, rest = s, name[: -len(word) - 1]
        elif len(name) > 2 and low[0] == s and (name[1].isupper() or name[1] in _SEPARATORS):
            side, rest = s, name[1:]
        elif len(name) > 2 and low[-1] == s and name[-2] in _SEPARATORS:
            side, rest = s, name[:-2]
        if side:
            break
    base = "".join(ch for ch in rest if ch not in _SEPARATORS).lower()
    return side, base


def _children(parents: tuple[int, ...]) -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {i: [] for i in range(len(parents))}
    for j, p in enumerate(parents):
        if p >= 0:
            kids[p].append(j)
    return kids


def _depths(parents) -> list[int]:
    """Every joint's depth below its root, each parent link followed once (a 100k-joint chain stays linear)."""
    depth = [-1] * len(parents)
    for j in range(len(parents)):
        path, k = [], j
        while k >= 0 and depth[k] < 0:
            path.append(k)
            k = parents[k]
            if len(path) > len(parents):
                raise LexmotionError("skeleton: its parent links form a cycle")
        d = depth[k] if k >= 0 else -1
        for node in reversed(path):
            d += 1
            depth[node] = d
    return depth


def _ancestors(parents, j):
    out = []
    while parents[j] >= 0:
        j = parents[j]
        out.append(j)
    return out


def skeleton_from_names(joints, parents, name: str | None = None, source: str = "") -> Skeleton:
    """Derive parts, mirror pairs and canonical mapping from joint names and hierarchy.

    Hands/wrists and feet/ankles are found by name; elbows, shoulders, knees and hips
    are their parents (twist/roll helper joints skipped); the pelvis is the hips joint
    (or the root); spine, chest and neck come from the pelvis-to-head path.
    Raises LexmotionError naming the joints it could not find.
    """
    joints, parents = tuple(joints), tuple(parents)
    for registered in REGISTRY.values():
        if registered.joints == joints:
            return registered
    info = [joint_side(j) for j in joints]
    depth = _depths(parents)
    mapping = _canonical_mapping(parents, info, depth)
    missing = [c for c in CANONICAL_JOINTS if mapping.get(c) is None or mapping[c] < 0]
    if missing:
        raise LexmotionError(
            f"{source or 'skeleton'}: unknown joint names, cannot find {', '.join(missing)} "
            f"among {', '.join(joints)}")
    canonical = {c: joints[mapping[c]] for c in CANONICAL_JOINTS}
    parts = _body_parts(joints, parents, info, depth, mapping)
    by_base = {}
    for j, (side, base) in enumerate(info):
        if side:
            by_base.setdefault(base, {})[side] = joints[j]
    pairs = tuple((d["l"], d["r"]) for d in by_base.values() if "l" in d and "r" in d)
    digest = hashlib.sha1(("|".join(joints) + str(parents)).encode()).hexdigest()[:8]
    return Skeleton(name=name or f"bvh-{digest}", joints=joints, parents=parents,
                    parts={k: tuple(v) for k, v in parts.items()}, mirror_pairs=pairs,
                    canonical=canonical, description=f"derived from joint names ({source})" if source else "derived from joint names")


def _canonical_mapping(parents, info, depth) -> dict[str, int | None]:
    """Canonical joint -> index, by the joints' names (``info``: their side and base name) and the tree."""
    helper = re.compile(r"twist|roll|end|nub|site|dummy")

    def find(base_names, side=None, contains=None, forbid=r"$^"):
        hits = [j for j, (s, b) in enumerate(info)
                if s == side and (b in base_names or (contains and contains in b and not re.search(forbid, b)))]
        exact = [j for j in hits if info[j][1] in base_names]
        hits = exact or hits
        return min(hits, key=depth.__getitem__) if hits else None

    def up(j):
        j = parents[j]
        while j >= 0 and helper.search(info[j][1]):
            j = parents[j]
        return j

    mapping: dict[str, int | None] = {}
    mapping["pelvis"] = find({"hips", "hip", "pelvis"})
    if mapping["pelvis"] is None:
        mapping["pelvis"] = 0
    mapping["head"] = find({"head"}, contains="head", forbid=r"top|end")
    mapping["neck"] = find({"neck", "neck1", "neck01", "lowerneck"}, contains="neck")
    for side in ("l", "r"):
        wrist = find({"hand", "wrist"}, side=side, contains="hand", forbid=r"finger|thumb|index|pinky|ring|middle|end")
        ankle = find({"foot", "ankle"}, side=side, contains="foot", forbid=r"toe|end|ball")
        mapping[f"{side}_wrist"], mapping[f"{side}_ankle"] = wrist, ankle
        if wrist is not None:
            mapping[f"{side}_elbow"] = up(wrist)
            mapping[f"{side}_shoulder"] = up(mapping[f"{side}_elbow"]) if mapping[f"{side}_elbow"] >= 0 else None
        if ankle is not None:
            mapping[f"{side}_knee"] = up(ankle)
            mapping[f"{side}_hip"] = up(mapping[f"{side}_knee"]) if mapping[f"{side}_knee"] >= 0 else None
    if mapping["neck"] is not None and mapping["pelvis"] is not None:
        path = list(reversed(_ancestors(parents, mapping["neck"])))
        path = path[path.index(mapping["pelvis"]) + 1:] if mapping["pelvis"] in path else []
        if path:
            mapping["spine"], mapping["chest"] = path[0], path[-1]
    return mapping


def _body_parts(joints, parents, info, depth, mapping) -> dict[str, list[str]]:
    """A joint belongs to the limb of its nearest canonical ancestor (itself included); a sided joint
    above a limb (collar, buttock, LHipJoint) to that limb; the pelvis and its ancestors are the root;
    the rest is torso."""
    limb_part = {mapping[f"{s}_{k}"]: f"{side}_{limb}"
                 for s, side in (("l", "left"), ("r", "right"))
                 for limb, keys in (("arm", ("shoulder", "elbow", "wrist")), ("leg", ("hip", "knee", "ankle")))
                 for k in keys}
    kids = _children(parents)
    top_down = sorted(range(len(joints)), key=depth.__getitem__)
    # above: the limb of the nearest canonical joint at or over j; below: the first limb met depth-first
    # under j, last child first. Both in one pass each (parents first, then children first).
    limb_above: list[str | None] = [None] * len(joints)
    for j in top_down:
        limb_above[j] = limb_part.get(j) or (limb_above[parents[j]] if parents[j] >= 0 else None)
    limb_below: list[str | None] = [None] * len(joints)
    for j in reversed(top_down):
        limb_below[j] = next((limb_part.get(k) or limb_below[k] for k in reversed(kids[j])
                              if limb_part.get(k) or limb_below[k]), None)

    root_joints = {mapping["pelvis"], *_ancestors(parents, mapping["pelvis"])}
    parts = {p: [] for p in PARTS}
    for j in range(len(joints)):
        above = limb_above[j]
        below = limb_below[j] if info[j][0] else None
        if j in root_joints:
            part = "root"
        elif above:
            part = above
        elif below and below.startswith("left" if info[j][0] == "l" else "right"):
            part = below
        else:
            part = "torso"
        parts[part].append(joints[j])
    return parts
