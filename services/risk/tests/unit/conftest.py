import json
from importlib.resources import files

import pytest

from risk.domain.model import RiskModel


def starter_document() -> dict:
    return json.loads(files("risk").joinpath("data/starter_model.json").read_text(encoding="utf-8"))


@pytest.fixture
def starter() -> RiskModel:
    return RiskModel.model_validate(starter_document())
