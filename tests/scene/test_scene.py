"""Scene registry: IDs, order, lookups, is-a queries, clear, counters, listeners, transforms."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from voxweb.scene import (
    GridTransform,
    LabelMapVolume,
    LinearTransform,
    MarkupsFiducial,
    Model,
    NodeNotFoundError,
    ScalarVolume,
    Scene,
    Segmentation,
    TransformChainError,
)

SINGLETON_IDS = [
    "vtkMRMLLayoutNodevtkMRMLLayoutNode",
    "vtkMRMLSliceNodeRed",
    "vtkMRMLSliceNodeYellow",
    "vtkMRMLSliceNodeGreen",
    "vtkMRMLViewNode1",
    "vtkMRMLSelectionNodeSingleton",
]


def vol(name: str = "") -> ScalarVolume:
    return ScalarVolume(np.zeros((2, 3, 4), dtype=np.int16), name=name)


def test_default_scene_has_singletons():
    scene = Scene()
    assert scene.ids() == SINGLETON_IDS
    assert [n.name for n in scene.nodes()][1:4] == ["Red", "Yellow", "Green"]


def test_ids_per_class_counter_and_order():
    scene = Scene()
    a = scene.add(vol("a"))
    b = scene.add(vol("b"))
    lm = scene.add(LabelMapVolume(np.zeros((1, 1, 1), np.uint8), name="lm"))
    t = scene.add(LinearTransform(name="t"))
    g = scene.add(GridTransform(name="g"))
    f = scene.add(MarkupsFiducial(name="F"))
    s = scene.add(Segmentation(name="seg"))
    m = scene.add(Model(name="m"))
    assert a.id == "vtkMRMLScalarVolumeNode1"
    assert b.id == "vtkMRMLScalarVolumeNode2"
    assert lm.id == "vtkMRMLLabelMapVolumeNode1"
    assert t.id == "vtkMRMLLinearTransformNode1"
    assert g.id == "vtkMRMLGridTransformNode1"
    assert f.id == "vtkMRMLMarkupsFiducialNode1"
    assert s.id == "vtkMRMLSegmentationNode1"
    assert m.id == "vtkMRMLModelNode1"
    assert scene.ids()[len(SINGLETON_IDS) :] == [a.id, b.id, lm.id, t.id, g.id, f.id, s.id, m.id]
    # removing does not reuse the number
    scene.remove(b)
    assert scene.add(vol("c")).id == "vtkMRMLScalarVolumeNode3"


def test_default_names_are_unique():
    scene = Scene()
    assert scene.add(vol()).name == "Volume"
    assert scene.add(vol()).name == "Volume_1"


def test_is_a_queries():
    scene = Scene()
    v = scene.add(vol("v"))
    lm = scene.add(LabelMapVolume(np.zeros((1, 1, 1), np.uint8), name="lm"))
    t = scene.add(LinearTransform(name="t"))
    g = scene.add(GridTransform(name="g"))
    f = scene.add(MarkupsFiducial(name="F"))
    assert scene.nodes_of_class("vtkMRMLVolumeNode") == [v, lm]
    assert scene.nodes_of_class("vtkMRMLScalarVolumeNode") == [v, lm]  # Slicer: labelmap IsA scalar
    assert scene.nodes_of_class("vtkMRMLLabelMapVolumeNode") == [lm]
    assert scene.nodes_of_class("vtkMRMLTransformNode") == [t, g]
    assert scene.nodes_of_class("vtkMRMLMarkupsNode") == [f]
    everything = scene.nodes_of_class("vtkMRMLNode")
    assert [n.id for n in everything[:6]] == SINGLETON_IDS and len(everything) == 11
    assert [n.id for n in scene.nodes_of_class("vtkMRMLAbstractViewNode")] == SINGLETON_IDS[1:5]
    assert len(scene.nodes_of_class("vtkMRMLDisplayableNode")) == 5
    assert scene.nodes_of_class("vtkMRMLNoSuchNode") == []


def test_lookup_by_id_name_and_glob():
    scene = Scene()
    mr = scene.add(vol("MRHead"))
    ct = scene.add(vol("CTChest"))
    assert scene.get_node_by_id("vtkMRMLScalarVolumeNode2") is ct
    assert scene.get_node_by_id("vtkMRMLScalarVolumeNode*") is None  # no glob for IDs
    assert scene.nodes_by_name("MRHead") == [mr]
    assert scene.get_node("MRHead") is mr
    assert scene.get_node("vtkMRMLScalarVolumeNode*") is mr
    assert scene.get_node("CT*") is ct
    assert scene.get_node("?RHea[cd]") is mr
    assert scene.get_node("vtkMRMLScalarVolumeNode2") is ct
    assert scene.find_nodes("*Chest") == [ct]
    with pytest.raises(
        NodeNotFoundError, match="could not find nodes in the scene by name or id 'x'"
    ):
        scene.get_node("x")


def test_glob_nodes_by_name_collapses_like_slicer():
    scene = Scene()
    first = scene.add(vol("same"))
    second = scene.add(vol("same"))
    found = scene.glob_nodes_by_name("vtkMRMLScalarVolumeNode*")
    assert list(found) == ["same"] and found["same"] is second
    assert scene.get_node("vtkMRMLScalarVolumeNode*") is first


def test_clear_keeps_singletons_and_resets_ids():
    scene = Scene()
    red = scene.get_node_by_id("vtkMRMLSliceNodeRed")
    v = scene.add(vol("v"))
    scene.add(vol("w"))
    scene.clear()
    assert scene.ids() == SINGLETON_IDS
    assert scene.get_node_by_id("vtkMRMLSliceNodeRed") is red
    assert v.scene is None
    assert scene.add(vol("again")).id == "vtkMRMLScalarVolumeNode1"


def test_counters_and_listeners():
    scene = Scene()
    events = []
    scene.add_listener(events.append)
    v0 = scene.version
    v = scene.add(vol("v"))
    assert scene.version == v0 + 1 and events[-1].kind == "added" and events[-1].node is v
    m0 = v.mtime
    v.name = "renamed"
    assert v.mtime > m0 and scene.version == v0 + 2 and events[-1].kind == "modified"
    scene.rename(v, "again")
    assert v.name == "again" and scene.version == v0 + 3
    m1 = v.mtime
    v.array[0, 0, 0] = 5
    v.modified()
    assert v.mtime > m1
    scene.remove(v.id)
    assert events[-1].kind == "removed"
    scene.clear()
    assert events[-1].kind == "cleared" and events[-1].node is None
    # a broken listener does not break the scene
    scene.add_listener(lambda e: 1 / 0)
    scene.add(vol("x"))
    assert len(scene) == 7


def test_add_twice_and_remove_unknown():
    scene = Scene()
    v = scene.add(vol("v"))
    with pytest.raises(ValueError, match="already in a scene"):
        scene.add(v)
    with pytest.raises(NodeNotFoundError):
        scene.remove("vtkMRMLScalarVolumeNode9")


def test_lock_is_reentrant_and_shared():
    scene = Scene()
    with scene.lock, scene.lock:
        scene.add(vol("inside"))
    done = threading.Event()

    def worker():
        with scene.lock:
            scene.add(vol("thread"))
        done.set()

    with scene.lock:
        th = threading.Thread(target=worker)
        th.start()
        assert not done.wait(0.05)  # blocked while we hold the lock
    th.join(5)
    assert done.is_set()


def translation(x: float, y: float, z: float) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = (x, y, z)
    return m


def test_transform_chain_composition():
    scene = Scene()
    outer = scene.add(LinearTransform(translation(10, 0, 0), name="outer"))
    rot = np.eye(4)
    rot[:3, :3] = [[0, -1, 0], [1, 0, 0], [0, 0, 1]]
    inner = scene.add(LinearTransform(rot, name="inner"))
    v = scene.add(vol("v"))
    scene.set_parent_transform(inner, outer)
    scene.set_parent_transform(v, inner)
    world = scene.transform_to_world(v)
    np.testing.assert_allclose(world, translation(10, 0, 0) @ rot)
    np.testing.assert_allclose(world @ [1, 0, 0, 1], [10, 1, 0, 1])
    np.testing.assert_allclose(scene.transform_to_world(inner), translation(10, 0, 0) @ rot)
    np.testing.assert_allclose(scene.transform_to_world(scene.add(vol("free"))), np.eye(4))
    with pytest.raises(TransformChainError, match="cycle"):
        scene.set_parent_transform(outer, inner)
    # removing a transform detaches its children
    scene.remove(outer)
    assert inner.parent_transform_id is None


def test_grid_in_chain_is_a_clear_error():
    scene = Scene()
    g = scene.add(GridTransform(name="warp"))
    v = scene.add(vol("v"))
    scene.set_parent_transform(v, g)
    with pytest.raises(TransformChainError, match="grid"):
        scene.transform_to_world(v)


def test_missing_parent_is_a_clear_error():
    scene = Scene()
    v = scene.add(vol("v"))
    v.parent_transform_id = "vtkMRMLLinearTransformNode7"
    with pytest.raises(TransformChainError, match="not in the scene"):
        scene.transform_to_world(v)
