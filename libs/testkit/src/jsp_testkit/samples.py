"""Realistic sample traffic (Faker zh_CN over real Henan divisions): registrations as the bureau sends
them and work orders as the 12345 hotline sends them. Used by `make demo`, the tests and the benchmark."""

from __future__ import annotations

import random
import secrets
from datetime import timedelta
from functools import cache
from typing import Any

from jsp_common import clock, divisions, uscc

# (industry class, business scope, licence) per kind of business the key domains care about.
TRADES: tuple[tuple[str, str, str | None], ...] = (
    ("5221", "预包装食品销售；散装食品销售；食品经营", "食品经营许可证"),
    ("6210", "餐饮服务；食品经营；热食类食品制售", "食品经营许可证"),
    ("5251", "药品零售；医疗器械经营；保健食品销售", "药品经营许可证"),
    ("5254", "第二类医疗器械经营；第三类医疗器械经营", "医疗器械经营许可证"),
    ("5166", "危险化学品经营（不带储存设施）", "危险化学品经营许可证"),
    ("4512", "燃气经营；液化石油气充装；燃气器具销售", "燃气经营许可证"),
    ("5265", "燃气器具销售；厨房设备销售", None),
    ("4720", "房屋建筑工程施工；建筑装饰工程", "建筑业企业资质证书"),
    ("1441", "乳制品生产；食品生产", "食品生产许可证"),
    ("5132", "服装鞋帽批发零售", None),
)
COMPLAINTS = (
    "{name}销售的食品已过保质期，要求监管部门核查处理。",
    "{name}后厨卫生条件差，用餐后出现腹泻，请相关部门调查。",
    "{name}违规储存液化石油气钢瓶，存在安全隐患，请尽快处理。",
    "{name}无证销售处方药，请药监部门核实。",
    "{name}销售的医疗器械无产品注册证，怀疑是假冒产品。",
    "{name}以高额返利吸收群众资金，怀疑非法集资。",
    "{name}的电梯多次困人，维保记录造假，请特种设备监管部门检查。",
    "{name}在居民楼内违规存放危险化学品，邻居担心安全。",
)


@cache
def _faker():
    from faker import Faker

    return Faker("zh_CN")


@cache
def _counties() -> tuple[divisions.Division, ...]:
    return tuple(d for d in divisions.all_divisions() if d.level == "county")


def new_uscc(division_code: str = "410105") -> str:
    """A valid USCC of a business in ``division_code``, random (each test names its own business)."""
    return uscc.with_check_char("91" + division_code + "".join(secrets.choice(uscc.ALPHABET) for _ in range(9)))


TRADE_WORDS = ("商贸", "餐饮", "医药", "燃气", "科技", "实业")  # the trade word of a sample business's name


def registration(rng: random.Random | None = None, *, trade_word: str | None = None) -> dict[str, Any]:
    """The data of one ``market.entity.registered.v1``, as the bureau sends it (its name's trade word
    ``trade_word``, else one of ``TRADE_WORDS``)."""
    rng = rng or random.Random()
    fake = _faker()
    county = rng.choice(_counties())
    city = divisions.city_of(county.code)
    industry, scope, licence = rng.choice(TRADES)
    established = clock.today() - timedelta(days=rng.randint(0, 30))
    name = f"{city.name.removesuffix('市')}{fake.company_prefix().removesuffix('公司')}{trade_word or rng.choice(TRADE_WORDS)}有限公司"
    return {
        "uscc": new_uscc(county.code),
        "name": name,
        "entity_type": "有限责任公司",
        "legal_representative": fake.name(),
        "address": f"河南省{city.name}{county.name}{fake.street_address()}",
        "division_code": county.code,
        "industry_code": industry,
        "business_scope": scope,
        "licences": [{"type": licence, "number": f"JY{rng.randint(10**13, 10**14 - 1)}",
                      "issued_on": established.isoformat()}] if licence else [],
        "established_on": established.isoformat(),
        "registration_authority": f"{city.name}市场监督管理局",
        "occurred_at": clock.now().isoformat(),
    }


def work_order(about: dict[str, Any] | None = None, rng: random.Random | None = None) -> dict[str, Any]:
    """The data of one ``hotline.work-order.submitted.v1``; ``about``: a registration it complains about."""
    rng = rng or random.Random()
    fake = _faker()
    about = about or registration(rng)
    return {
        "work_order_no": f"ZZ{clock.now():%Y%m%d}{rng.randint(0, 10**8 - 1):08d}",
        "content": rng.choice(COMPLAINTS).format(name=about["name"]),
        "received_at": clock.now().isoformat(),
        "address": about["address"],
        "division_code": about["division_code"],
        "business_name": about["name"],
        "uscc": about["uscc"],
        "urgency": rng.choice(["normal", "normal", "normal", "urgent"]),
        "category": "投诉",
        "caller_name": fake.name(),
        "caller_phone": fake.phone_number(),
    }


def food_business_in_zhengzhou() -> dict[str, Any]:
    """A registration the starter rules give to Zhengzhou's market regulation bureau (samr-410100)."""
    data = registration()
    county = "410102"
    data.update(uscc=new_uscc(county), division_code=county, industry_code="5221",
                business_scope="预包装食品销售；散装食品销售；食品经营",
                name=f"郑州{secrets.token_hex(3)}食品商贸有限公司", address="河南省郑州市中原区建设西路100号")
    return data
