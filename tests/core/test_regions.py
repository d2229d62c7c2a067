"""The regions hakobu.toml may name: read from botocore's bundled endpoint data file
directly (importing botocore for it would slow every command that loads the config),
so they must stay what botocore itself answers."""

from __future__ import annotations

import botocore.session

from hakobu.core.config.schema import known_regions


def test_known_regions_are_botocores_ecs_regions() -> None:
    expected = botocore.session.get_session().get_available_regions("ecs")

    assert known_regions() == expected
    assert {"us-east-1", "ap-northeast-1", "eu-west-1"} <= set(known_regions())
    assert not [region for region in known_regions() if region.startswith("fips-")]
