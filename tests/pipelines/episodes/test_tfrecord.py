import numpy as np
import pytest

from pipelines.episodes.tfrecord import TFRecordError, crc32c, encode_example, iter_records, parse_example, write_records


def test_crc32c_known_vector():
    assert crc32c(b"123456789") == 0xE3069283


def test_example_round_trip_on_the_wire(tmp_path):
    ex = {"steps/action": np.arange(6, dtype=np.float32), "steps/is_first": np.array([1, 0, 0]),
          "steps/neg": np.array([-5, 7]), "steps/language_instruction": [b"pick", b"pick", b"pick"]}
    path = write_records(tmp_path / "x.tfrecord-00000-of-00001", [encode_example(ex), encode_example(ex)])
    records = list(iter_records(path))
    assert len(records) == 2
    parsed = parse_example(records[1])
    assert parsed["steps/action"][0] == "float"
    np.testing.assert_array_equal(parsed["steps/action"][1], np.arange(6, dtype=np.float32))
    assert parsed["steps/neg"][1].tolist() == [-5, 7]
    assert parsed["steps/language_instruction"] == ("bytes", [b"pick", b"pick", b"pick"])


def test_corrupt_record_fails_its_checksum(tmp_path):
    path = write_records(tmp_path / "x.tfrecord", [encode_example({"a": np.array([1.0, 2.0])})])
    data = bytearray(path.read_bytes())
    data[20] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(TFRecordError, match="checksum"):
        list(iter_records(path))


def test_protobuf_library_reads_our_bytes_when_available():
    """Cross-check the encoder against Google's protobuf runtime with a hand-built descriptor."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fdp = descriptor_pb2.FileDescriptorProto(name="ex.proto", package="t", syntax="proto3")
    for name, typ in (("BytesList", 12), ("FloatList", 2), ("Int64List", 3)):
        m = fdp.message_type.add(name=name)
        f = m.field.add(name="value", number=1, type=typ, label=3)
        if typ != 12:
            f.options.packed = True
    feat = fdp.message_type.add(name="Feature")
    feat.oneof_decl.add(name="kind")
    for i, name in enumerate(("bytes_list", "float_list", "int64_list"), start=1):
        feat.field.add(name=name, number=i, type=11, label=1, oneof_index=0,
                       type_name=f".t.{['BytesList', 'FloatList', 'Int64List'][i - 1]}")
    feats = fdp.message_type.add(name="Features")
    entry = feats.nested_type.add(name="FeatureEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=9, label=1)
    entry.field.add(name="value", number=2, type=11, label=1, type_name=".t.Feature")
    feats.field.add(name="feature", number=1, type=11, label=3, type_name=".t.Features.FeatureEntry")
    exm = fdp.message_type.add(name="Example")
    exm.field.add(name="features", number=1, type=11, label=1, type_name=".t.Features")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    Example = message_factory.GetMessageClass(pool.FindMessageTypeByName("t.Example"))
    msg = Example.FromString(encode_example({"f": np.array([1.5, -2.0], dtype=np.float32), "i": np.array([3, -4]),
                                              "b": [b"xy"]}))
    assert list(msg.features.feature["f"].float_list.value) == [1.5, -2.0]
    assert list(msg.features.feature["i"].int64_list.value) == [3, -4]
    assert list(msg.features.feature["b"].bytes_list.value) == [b"xy"]
    # and the other direction: protobuf's serialization parses with ours
    parsed = parse_example(msg.SerializeToString())
    assert parsed["i"][1].tolist() == [3, -4]
