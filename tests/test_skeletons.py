import pytest

import lexmotion.data.skeletons as sk
from lexmotion.errors import LexmotionError


@pytest.mark.parametrize("name", ["kitml-cmu", "bandai", "humanml3d", "kitml-mmm"])
def test_registered_skeleton_is_complete(name):
    s = sk.REGISTRY[name]
    assert s.num_joints == {"kitml-cmu": 21, "bandai": 22, "humanml3d": 22, "kitml-mmm": 21}[name]
    in_parts = [j for joints in s.parts.values() for j in joints]
    assert sorted(in_parts) == sorted(s.joints), "every joint in exactly one part"
    perm = s.mirror_permutation()
    assert sorted(perm) == list(range(s.num_joints)) and [perm[p] for p in perm] == list(range(s.num_joints))
    for left, right in s.mirror_pairs:
        assert sk.joint_side(left)[0] in ("l", None) and left != right
    for c in sk.CANONICAL_JOINTS:
        assert s.canonical[c] in s.joints


@pytest.mark.parametrize("name", ["kitml-cmu", "bandai", "humanml3d"])
def test_derived_from_names_matches_declaration(name, monkeypatch):
    declared = sk.REGISTRY[name]
    monkeypatch.setattr(sk, "REGISTRY", {})  # force the derivation, not the registry lookup
    derived = sk.skeleton_from_names(declared.joints, declared.parents)
    assert derived.parts == declared.parts
    assert derived.canonical == declared.canonical
    assert set(derived.mirror_pairs) == set(declared.mirror_pairs)


@pytest.mark.parametrize("name,expected", [
    ("LeftArm", ("l", "arm")), ("lShldr", ("l", "shldr")), ("LHipJoint", ("l", "hipjoint")),
    ("Hand_L", ("l", "hand")), ("hand.right", ("r", "hand")), ("RightUpLeg", ("r", "upleg")),
    ("mixamorig:LeftForeArm", ("l", "forearm")),
    ("LowerBack", (None, "lowerback")), ("Root", (None, "root")), ("Spine1", (None, "spine1")),
])
def test_joint_side(name, expected):
    assert sk.joint_side(name) == expected


def _cmu_bvh_rig():
    """The CMU BVH rig (Hips, LHipJoint, LeftUpLeg, ..., LowerBack, Spine1, Neck1)."""
    joints, parents = [], []

    def add(name, parent):
        joints.append(name)
        parents.append(joints.index(parent) if parent else -1)

    add("Hips", None)
    for side in ("L", "R"):
        full = "Left" if side == "L" else "Right"
        add(f"{side}HipJoint", "Hips"); add(f"{full}UpLeg", f"{side}HipJoint")
        add(f"{full}Leg", f"{full}UpLeg"); add(f"{full}Foot", f"{full}Leg"); add(f"{full}ToeBase", f"{full}Foot")
    add("LowerBack", "Hips"); add("Spine", "LowerBack"); add("Spine1", "Spine")
    add("Neck", "Spine1"); add("Neck1", "Neck"); add("Head", "Neck1")
    for full in ("Left", "Right"):
        add(f"{full}Shoulder", "Spine1"); add(f"{full}Arm", f"{full}Shoulder")
        add(f"{full}ForeArm", f"{full}Arm"); add(f"{full}Hand", f"{full}ForeArm")
        add(f"{full}HandIndex1", f"{full}Hand"); add(f"{full[0]}Thumb", f"{full}Hand")
    return joints, parents


def test_derives_an_unregistered_cmu_rig():
    joints, parents = _cmu_bvh_rig()
    s = sk.skeleton_from_names(joints, parents)
    assert s.canonical["l_wrist"] == "LeftHand" and s.canonical["l_elbow"] == "LeftForeArm"
    assert s.canonical["l_shoulder"] == "LeftArm" and s.canonical["r_ankle"] == "RightFoot"
    assert s.canonical["r_hip"] == "RightUpLeg" and s.canonical["neck"] == "Neck"
    assert s.canonical["spine"] == "LowerBack" and s.canonical["chest"] == "Spine1"
    assert "LHipJoint" in s.parts["left_leg"] and "LeftShoulder" in s.parts["left_arm"]
    assert "LThumb" in s.parts["left_arm"] and "LeftToeBase" in s.parts["left_leg"]
    assert ("LeftHand", "RightHand") in s.mirror_pairs


def test_unknown_joint_names_are_refused():
    with pytest.raises(LexmotionError, match="unknown joint names.*wrist"):
        sk.skeleton_from_names(["root", "a", "b", "c"], [-1, 0, 1, 2], source="odd.bvh")


def test_get_skeleton_names_the_registered_ones():
    with pytest.raises(LexmotionError, match="unknown skeleton 'nope'.*kitml-cmu"):
        sk.get_skeleton("nope")
