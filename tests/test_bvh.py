import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from lexmotion.data.bvh import guess_scale, parse_bvh, read_bvh
from lexmotion.errors import LexmotionError

TWO_BONES = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Chest
  {
    OFFSET 0 50 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT Head
    {
      OFFSET 0 0 30
      CHANNELS 3 Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0 10 0
      }
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.05
0 100 0 0 0 0 0 0 0 0 0 0
10 100 0 0 0 90 90 0 0 0 0 0
"""


def test_forward_kinematics_on_hand_computed_positions():
    bvh, pos = read_bvh("two.bvh", text=TWO_BONES, scale=0.01)
    assert bvh.joints == ["Hips", "Chest", "Head"] and bvh.fps == 20.0
    np.testing.assert_allclose(pos[0], [[0, 1, 0], [0, 1.5, 0], [0, 1.5, 0.3]], atol=1e-6)
    # Frame 1: root yaw +90 deg about y maps +z to +x; chest rotates +90 deg about z,
    # mapping the head's +z offset to itself, so the head is 0.3 m along +x of the chest.
    np.testing.assert_allclose(pos[1], [[0.1, 1, 0], [0.1, 1.5, 0], [0.4, 1.5, 0]], atol=1e-6)


def independent_fk(bvh):
    """Reference FK with scipy rotations, joint by joint and frame by frame."""
    out = np.zeros((len(bvh.motion), len(bvh.joints), 3))
    for t, frame in enumerate(bvh.motion):
        col, glob_rot, glob_pos = 0, [], []
        for j, chans in enumerate(bvh.channels):
            vals = dict(zip(chans, frame[col:col + len(chans)]))
            col += len(chans)
            trans = np.array([vals.get(a + "position", bvh.offsets[j][i]) for i, a in enumerate("XYZ")])
            order = "".join(c[0] for c in chans if c.endswith("rotation"))
            local = Rotation.from_euler(order.upper(), [vals[a + "rotation"] for a in order], degrees=True) \
                if order else Rotation.identity()
            p = bvh.parents[j]
            if p < 0:
                glob_rot.append(local)
                glob_pos.append(trans)
            else:
                glob_rot.append(glob_rot[p] * local)
                glob_pos.append(glob_pos[p] + glob_rot[p].apply(trans))
        out[t] = glob_pos
    return out


def test_fk_matches_an_independent_implementation_on_real_bandai(bandai_slice):
    for path in sorted(bandai_slice.rglob("*.bvh"))[:3]:
        bvh, pos = read_bvh(path)
        reference = independent_fk(bvh) * 0.01          # Bandai files are in centimetres
        assert np.abs(pos - reference).max() < 1e-4, path  # well under 1 mm
        assert 1.1 < pos[0, 5, 1] < 2.0, "head height of a person (some styles stoop), metres"


@pytest.mark.parametrize("mutate,message", [
    (lambda t: t[: len(t) // 2], "truncated BVH"),
    (lambda t: t.rsplit("\n", 2)[0] + "\n", "truncated BVH: expected 2 frames"),
    (lambda t: t.replace("10 100 0", "nan 100 0"), "frame 1 has NaN"),
    (lambda t: "HELLO" + t, "corrupt BVH"),
    (lambda t: t.replace("Frame Time: 0.05", "Frame Time: 0"), "Frame Time must be positive"),
    (lambda t: t.replace("OFFSET 0 50 0", "OFFSET 0 fifty 0"), "corrupt BVH"),
    (lambda t: t.replace("10 100 0 0 0 90", "10 100 0 0 zero 90"), "non-numeric"),
])
def test_bad_bvh_gets_a_one_line_error_naming_the_file(mutate, message):
    with pytest.raises(LexmotionError, match=message) as err:
        read_bvh("clip.bvh", text=mutate(TWO_BONES))
    assert str(err.value).startswith("clip.bvh:") and "\n" not in str(err.value)


def test_missing_file():
    with pytest.raises(LexmotionError, match="nowhere.bvh: no such file"):
        read_bvh("nowhere.bvh")


def test_zero_frames_parse_but_carry_no_motion():
    text = TWO_BONES.split("MOTION")[0] + "MOTION\nFrames: 0\nFrame Time: 0.05\n"
    assert parse_bvh(text).motion.shape == (0, 12)


@pytest.mark.parametrize("height,metres_per_unit", [(1.75, 1.0), (172.0, 0.01), (1690.0, 0.001),
                                                    (66.0, 0.0254), (30.5, 0.0254 / 0.45)])
def test_unit_guess_gives_a_human_size(height, metres_per_unit):
    body = np.zeros((1, 3, 3))
    body[0, 2, 1] = height
    assert guess_scale(body) == pytest.approx(metres_per_unit)


def test_read_bvh_records_the_scale():
    bvh, _ = read_bvh("two.bvh", text=TWO_BONES.replace("OFFSET 0 0 30", "OFFSET 0 0 170"))  # 1.7 m in cm
    assert bvh.scale == 0.01
