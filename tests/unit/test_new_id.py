"""Resource ids are random UUIDv4s in their canonical text form."""

from __future__ import annotations

import uuid

from thecloud.domain.common import new_id


def test_ids_are_canonical_random_uuids_version_4() -> None:
    ids = [new_id() for _ in range(5000)]
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text  # lower-case hex, dashes where str(UUID) puts them
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert len(set(ids)) == len(ids)


def test_every_random_bit_varies() -> None:
    """The 122 bits that are not the version's or the variant's take both values."""
    ones, zeros = 0, 0
    for _ in range(400):
        value = uuid.UUID(new_id()).int
        ones |= value
        zeros |= ~value
    fixed = (0xF << 76) | (0x3 << 62)  # version and variant
    assert bin((ones & zeros) & ~fixed & ((1 << 128) - 1)).count("1") == 122
