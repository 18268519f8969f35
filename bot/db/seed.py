"""The demo shop: buyers and orders that exercise every rule of rules-from-seeds.md A, B and C.

Times are relative to "now" (so "signed today" is still true tomorrow) and the seed is an upsert keyed on
natural keys (shop code, buyer id, order number, ledger idempotency key): running it again refreshes the
times and changes nothing else, never duplicates. Order numbers are fixed: 8866 + buyer number (4 digits)
+ order sequence (4 digits), e.g. 886600010001 is b_demo_1's first order.
`python -m bot db demo` prints the buyers and what each order exercises (the README quotes it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.clock import CN_TZ, now_cn
from bot.db import catalog
from bot.db.cases import record_invoice_request
from bot.db.ledger import grant
from bot.db.models import AfterSalesCase, Buyer, InvoiceRequest, Order, OrderItem, Shipment, Shop
from bot.money import fen_to_yuan, yuan_to_fen

H = timedelta(hours=1)
D = timedelta(days=1)

# How long each listing kind may take to ship (rules-from-seeds B: ordinary 72 h, 聚划算 7 days).
SHIP_WITHIN = {"ordinary": 72 * H, "juhuasuan": 7 * D}


# --- specs -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShopSpec:
    code: str
    name: str
    platform: str


@dataclass(frozen=True)
class BuyerSpec:
    id: str
    platform: str
    tier: str
    nickname: str
    note: str


@dataclass(frozen=True)
class ItemSpec:
    sku: str
    title: str
    category: str
    price: str  # unit price, yuan
    qty: int = 1
    paid: str | None = None  # what the line cost the buyer, yuan; default price x qty
    no_return_when_opened: bool = False

    def paid_fen(self) -> int:
        return yuan_to_fen(self.paid) if self.paid is not None else yuan_to_fen(self.price) * self.qty


@dataclass(frozen=True)
class Signing:
    """When (relative to now) and by whom the courier recorded the delivery.

    mode: "ago"       exact time, now - ago
          "today"     exact time earlier today (halfway between midnight and now)
          "day"       exact time `hour`:00 on the calendar day `days` ago
          "date_only" only the date `days` ago is on record (stored as that midnight, flagged)
    """

    mode: str
    ago: timedelta = timedelta(0)
    days: int = 0
    hour: int = 15
    by: str = "buyer"

    def resolve(self, now: datetime) -> datetime:
        midnight = datetime.combine(now.date(), time(0), tzinfo=CN_TZ)
        if self.mode == "ago":
            return now - self.ago
        if self.mode == "today":
            return (midnight + (now - midnight) / 2).replace(microsecond=0)
        if self.mode == "day":
            return midnight - self.days * D + self.hour * H
        if self.mode == "date_only":
            return midnight - self.days * D
        raise ValueError(f"unknown signing mode {self.mode!r}")


def signed_ago(by: str = "buyer", **delta) -> Signing:
    return Signing("ago", ago=timedelta(**delta), by=by)


def signed_today(by: str = "buyer") -> Signing:
    return Signing("today", by=by)


def signed_on_day(days: int, hour: int = 15, by: str = "buyer") -> Signing:
    return Signing("day", days=days, hour=hour, by=by)


def signed_date_only(days: int, by: str = "buyer") -> Signing:
    return Signing("date_only", days=days, by=by)


@dataclass(frozen=True)
class ShipmentSpec:
    courier: str
    shipped_ago: timedelta
    status: str = "in_transit"
    expected_in: timedelta = 2 * D  # expected delivery relative to now (negative: already overdue)
    signing: Signing | None = None


@dataclass(frozen=True)
class OrderSpec:
    number: str
    buyer: str
    shop: str
    status: str
    items: tuple[ItemSpec, ...]
    note: str
    paid_ago: timedelta | None = 5 * D
    listing_kind: str = "ordinary"
    ship_within: timedelta | None = None  # a promise tighter than the listing kind's (48小时发货 ...)
    presale_in_days: int | None = None  # presale: the stated ship date, days from today
    free_shipping: bool = True
    freight_insurance: bool = False
    service_tags: tuple[str, ...] = ()
    shipment: ShipmentSpec | None = None
    completed_ago: timedelta | None = None
    closed_ago: timedelta | None = None


@dataclass(frozen=True)
class PriorClaimSpec:
    """A settled earlier case of a buyer, with what the ledger granted for it."""

    buyer: str
    order: str
    intent: str
    days_ago: int
    grants: tuple[tuple[str, str, str], ...]  # (kind, amount yuan, rule id)
    summary: str


@dataclass
class SeedReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, table: str, created: bool) -> None:
        target = self.created if created else self.updated
        target[table] = target.get(table, 0) + 1

    def line(self) -> str:
        made = ", ".join(f"{n} {t}" for t, n in sorted(self.created.items())) or "nothing"
        return f"demo shop seeded: created {made}; refreshed {sum(self.updated.values())} existing rows"


# --- the demo shop ---------------------------------------------------------------------------------------

SHOPS = (
    ShopSpec("demo_tmall", "晶莹玻璃器皿旗舰店 (天猫)", "tmall"),
    ShopSpec("demo_taobao", "晶莹玻璃小铺 (淘宝)", "taobao"),
    ShopSpec("demo_jd", "晶莹家居京东自营专区", "jd"),
    ShopSpec("demo_pdd", "晶莹家电拼多多店", "pdd"),
)

BUYERS = (
    BuyerSpec("b_demo_1", "tmall", "3", "小林", "Tmall 3★, the main demo: a 20.00-yuan glass bottle signed yesterday (A1)"),
    BuyerSpec("b_demo_2", "tmall", "1", "阿杰", "Tmall 1★: below the 3★ fast-refund line (C); a 10.50-yuan bottle (A1 cap 5 yuan)"),
    BuyerSpec("b_demo_3", "tmall", "2", "周周", "Tmall 2★: leaking jar (A3), scratch (A4), small defect (A8), no free shipping"),
    BuyerSpec("b_demo_4", "tmall", "4", "陈女士", "Tmall 4★: fresh food and a large appliance (no fast refund), furniture 无忧购"),
    BuyerSpec("b_demo_5", "tmall", "5", "王先生", "Tmall 5★: multi-item order with one faulty item (A9), counterfeit claim, invoice"),
    BuyerSpec("b_demo_6", "jd", "S1", "京东用户S1", "JD S1: below the S2 lightning-refund line; a late delivery (晚必赔)"),
    BuyerSpec("b_demo_7", "jd", "S2", "京东用户S2", "JD S2: lightning refund (闪电退款) + freight insurance -> free pick-up"),
    BuyerSpec("b_demo_8", "jd", "S3", "京东用户S3", "JD S3: electronics within 7 days, lightning refund"),
    BuyerSpec("b_demo_9", "pdd", "", "拼多多用户", "Pinduoduo (no tiers): appliance with 送货上门 not honoured -> voucher (D)"),
    BuyerSpec("b_demo_10", "tmall", "4", "老顾客", "Tmall 4★ with four earlier claims in the ledger (abuse-risk flag)"),
    BuyerSpec("b_demo_11", "tmall", "3", "等发货", "Tmall 3★, orders before shipping: late 72 h, 聚划算 7 days, presale, out of stock (B)"),
    BuyerSpec("b_demo_12", "taobao", "3", "淘宝买家", "Taobao 3★: window edges — date-only 8 days, exactly 6 days, third-party signing, 15-day window"),
    BuyerSpec("b_demo_13", "tmall", "3", "等降价", "Tmall 3★, price protection (价保): listings whose catalog price dropped after payment"),
)


def _num(buyer_no: int, seq: int) -> str:
    return f"8866{buyer_no:04d}{seq:04d}"


BOTTLE_20 = ItemSpec("GL-BOTTLE-500", "透明玻璃水瓶 500ml", "glass", "20.00")
BOTTLE_1050 = ItemSpec("GL-BOTTLE-300", "透明玻璃水瓶 300ml", "glass", "10.50")
JAR_SEALED = ItemSpec("GL-JAR-1L", "玻璃密封罐 1L (带硅胶密封圈)", "glass", "26.80")
CUP_SET = ItemSpec("GL-CUP-SET4", "玻璃杯 4只装", "glass", "39.90")
CRABS = ItemSpec("FR-CRAB-4", "大闸蟹 4只装 (鲜活)", "fresh_food", "168.00")
WASHER = ItemSpec("AP-WASHER-10KG", "滚筒洗衣机 10kg", "large_appliance", "2399.00")
FRIDGE = ItemSpec("AP-FRIDGE-300L", "双门冰箱 300L", "large_appliance", "1899.00")
NIGHTSTAND = ItemSpec("FU-NIGHTSTAND", "实木床头柜", "furniture", "459.00")
SERUM = ItemSpec("CO-SERUM-30", "玻尿酸保湿精华 30ml", "cosmetics", "129.00")
EARBUDS = ItemSpec("EL-EARBUDS", "蓝牙耳机", "electronics", "199.00")
KETTLE = ItemSpec("EL-KETTLE", "玻璃电热水壶 1.7L", "electronics", "89.00")
TSHIRT = ItemSpec("CL-TSHIRT", "纯棉T恤", "clothing", "79.00")
UNDERWEAR = ItemSpec("UW-BRIEFS-3", "纯棉内裤 3条装", "underwear", "59.00", no_return_when_opened=True)
NUTS = ItemSpec("FD-NUTS-BOX", "坚果礼盒 (已拆封不退)", "food", "88.00", no_return_when_opened=True)
VITAMIN = ItemSpec("MD-VITC-100", "维生素C片 100片", "medicine", "35.00", no_return_when_opened=True)
TEA = ItemSpec("FD-TEA-250", "绿茶 250g", "food", "66.00")
VASE = ItemSpec("GL-VASE", "玻璃花瓶", "ordinary", "45.00")
# Price protection (b_demo_13): listings whose catalog price moves after the demo orders were paid.
DECANTER = ItemSpec("GL-DECANTER", "玻璃醒酒器 1.5L", "glass", "128.00")
TEAPOT = ItemSpec("GL-TEAPOT", "耐热玻璃茶壶 1L", "glass", "59.00")
CARAFE = ItemSpec("GL-CARAFE", "玻璃冷水壶 1.8L", "glass", "45.00")
STORAGE_SET = ItemSpec("GL-STORAGE-SET", "玻璃保鲜盒 3件套", "glass", "69.00")


def _ship(courier: str, days_ago: float, signing: Signing | None = None, **kwargs) -> ShipmentSpec:
    status = "signed" if signing is not None else kwargs.pop("status", "in_transit")
    return ShipmentSpec(courier, timedelta(days=days_ago), status=status, signing=signing, **kwargs)


ORDERS = (
    # b_demo_1 — Tmall 3★, the main demo case.
    OrderSpec(_num(1, 1), "b_demo_1", "demo_tmall", "signed", (BOTTLE_20,),
              "A1/A2/A7 main demo: 20.00 glass bottle signed yesterday, free shipping, no freight insurance "
              "(first offer 2+3 yuan, half-price cap 10 yuan)",
              paid_ago=3 * D, shipment=_ship("中通快递", 2, signed_on_day(1, 15))),
    OrderSpec(_num(1, 2), "b_demo_1", "demo_tmall", "shipped", (CUP_SET,),
              "A6/B delivery_status: in transit, expected tomorrow", paid_ago=2 * D,
              shipment=_ship("圆通速递", 1, expected_in=1 * D)),
    OrderSpec(_num(1, 3), "b_demo_1", "demo_tmall", "completed", (VASE,),
              "B 15-day window: completed 20 days ago -> after-sales window closed", paid_ago=30 * D,
              shipment=_ship("中通快递", 29, signed_on_day(27, 11)), completed_ago=20 * D),
    # b_demo_2 — Tmall 1★.
    OrderSpec(_num(2, 1), "b_demo_2", "demo_tmall", "signed", (BOTTLE_1050,),
              "A1 at 10.50: cash never above 5 yuan (half price); 1★ -> no 极速退款, seller has 72 h (C)",
              paid_ago=4 * D, shipment=_ship("韵达快递", 3, signed_on_day(2, 10))),
    OrderSpec(_num(2, 2), "b_demo_2", "demo_tmall", "completed", (TSHIRT,),
              "B 15-day window: completed 10 days ago -> still inside", paid_ago=20 * D,
              shipment=_ship("韵达快递", 19, signed_on_day(17, 18)), completed_ago=10 * D),
    OrderSpec(_num(2, 3), "b_demo_2", "demo_tmall", "signed", (BOTTLE_20,),
              "A10 7-day no-reason at 1★: seller has 72 h; free shipping -> each side pays one leg",
              paid_ago=3 * D, shipment=_ship("韵达快递", 2, signed_today())),
    # b_demo_3 — Tmall 2★.
    OrderSpec(_num(3, 1), "b_demo_3", "demo_tmall", "signed", (JAR_SEALED,),
              "A3 leaking jar: 2+3 yuan and re-send a sealing ring", paid_ago=5 * D,
              shipment=_ship("申通快递", 4, signed_on_day(3, 9))),
    OrderSpec(_num(3, 2), "b_demo_3", "demo_tmall", "signed", (CUP_SET,),
              "A4 scratch: 1-2 yuan / A8 small defect (气泡, 剪刀纹): 1-2 + 3 yuan", paid_ago=4 * D,
              shipment=_ship("申通快递", 3, signed_on_day(2, 14))),
    OrderSpec(_num(3, 3), "b_demo_3", "demo_tmall", "signed", (KETTLE,),
              "B 7-day costs: NO free shipping -> buyer pays both legs of a no-reason return",
              paid_ago=4 * D, free_shipping=False, shipment=_ship("申通快递", 3, signed_on_day(1, 19))),
    OrderSpec(_num(3, 4), "b_demo_3", "demo_tmall", "signed", (BOTTLE_20, BOTTLE_20),
              "A5 missing item: ordered 2 bottles, only 1 in the parcel; re-send or refund the missing one",
              paid_ago=3 * D, shipment=_ship("申通快递", 2, signed_on_day(1, 12))),
    # b_demo_4 — Tmall 4★.
    OrderSpec(_num(4, 1), "b_demo_4", "demo_tmall", "signed", (CRABS,),
              "C fresh food: 4★ but 生鲜 -> no 极速退款; no 7-day no-reason", paid_ago=2 * D,
              shipment=_ship("顺丰速运", 1, signed_today())),
    OrderSpec(_num(4, 2), "b_demo_4", "demo_tmall", "signed", (WASHER,),
              "C large appliance: 4★ but 大家电 -> no 极速退款; pick-up within 4 h", paid_ago=6 * D,
              freight_insurance=True, service_tags=("送货上门",),
              shipment=_ship("日日顺物流", 5, signed_on_day(2, 16))),
    OrderSpec(_num(4, 3), "b_demo_4", "demo_tmall", "signed", (NIGHTSTAND,),
              "C 天猫无忧购: furniture delivery/installation, service code only when satisfied; B bad smell script",
              paid_ago=8 * D, service_tags=("送装服务",), shipment=_ship("日日顺物流", 6, signed_on_day(1, 10))),
    OrderSpec(_num(4, 4), "b_demo_4", "demo_tmall", "signed", (BOTTLE_1050,),
              "C 极速退款 at 4★: 7-day no-reason approved at once, freight insurance -> zero-cost return",
              paid_ago=3 * D, freight_insurance=True, service_tags=("极速退款",),
              shipment=_ship("中通快递", 2, signed_on_day(1, 20))),
    # b_demo_5 — Tmall 5★.
    OrderSpec(_num(5, 1), "b_demo_5", "demo_tmall", "signed",
              (BOTTLE_20, ItemSpec("GL-BOTTLE-500-BLUE", "蓝色玻璃水瓶 500ml", "glass", "20.00"),
               ItemSpec("GL-LID-SPARE", "备用瓶盖", "ordinary", "5.00", qty=2)),
              "A9 multi-item, one faulty: shop pays return shipping for the faulty one only "
              "(freight insurance + difference <= 13 yuan)",
              paid_ago=4 * D, freight_insurance=True, shipment=_ship("中通快递", 3, signed_on_day(1, 11))),
    OrderSpec(_num(5, 2), "b_demo_5", "demo_tmall", "signed", (SERUM,),
              "B counterfeit 假一赔十: choosing it sends the case to a platform agent; evidence list",
              paid_ago=5 * D, shipment=_ship("顺丰速运", 4, signed_on_day(3, 13))),
    OrderSpec(_num(5, 3), "b_demo_5", "demo_tmall", "completed", (EARBUDS,),
              "invoice request (6-point breach if refused); repair/warranty; completed 3 days ago",
              paid_ago=15 * D, shipment=_ship("顺丰速运", 14, signed_on_day(12, 9)), completed_ago=3 * D),
    OrderSpec(_num(5, 4), "b_demo_5", "demo_tmall", "shipped", (VASE,),
              "A6 courier slow: out for delivery but overdue by 2 days; complain to the courier first",
              paid_ago=7 * D, shipment=_ship("百世快递", 6, status="out_for_delivery", expected_in=-2 * D)),
    # b_demo_6 — JD S1.
    OrderSpec(_num(6, 1), "b_demo_6", "demo_jd", "shipped", (KETTLE,),
              "C JD 晚必赔: still in transit 1 day after the promised delivery time",
              paid_ago=4 * D, freight_insurance=True, service_tags=("晚必赔",),
              shipment=_ship("京东物流", 3, expected_in=-1 * D)),
    OrderSpec(_num(6, 2), "b_demo_6", "demo_jd", "signed", (EARBUDS,),
              "C JD S1: below S2 -> no 闪电退款; 7-day no-reason per platform rules",
              paid_ago=4 * D, freight_insurance=True, service_tags=("闪电退款",),
              shipment=_ship("京东物流", 3, signed_on_day(2, 17))),
    OrderSpec(_num(6, 3), "b_demo_6", "demo_jd", "signed", (UNDERWEAR,),
              "B no 7-day no-reason for underwear", paid_ago=3 * D,
              shipment=_ship("京东物流", 2, signed_on_day(1, 18))),
    # b_demo_7 — JD S2.
    OrderSpec(_num(7, 1), "b_demo_7", "demo_jd", "signed", (BOTTLE_20,),
              "C JD S2 闪电退款 + 运费险 -> 免费上门取退", paid_ago=3 * D, freight_insurance=True,
              service_tags=("闪电退款",), shipment=_ship("京东物流", 2, signed_on_day(1, 9))),
    OrderSpec(_num(7, 2), "b_demo_7", "demo_jd", "signed", (TEA,),
              "C JD S2 without freight insurance: lightning refund but no free pick-up",
              paid_ago=4 * D, service_tags=("闪电退款",), shipment=_ship("京东物流", 3, signed_on_day(2, 12))),
    OrderSpec(_num(7, 3), "b_demo_7", "demo_jd", "paid_unshipped", (KETTLE,),
              "B cancel before shipping (拍错了/不想买了: no compensation)", paid_ago=10 * H,
              service_tags=("闪电退款",)),
    # b_demo_8 — JD S3.
    OrderSpec(_num(8, 1), "b_demo_8", "demo_jd", "signed", (EARBUDS,),
              "C JD S3 闪电退款 within 7 days, electronics", paid_ago=5 * D, freight_insurance=True,
              service_tags=("闪电退款",), shipment=_ship("京东物流", 4, signed_on_day(3, 15))),
    OrderSpec(_num(8, 2), "b_demo_8", "demo_jd", "signed", (FRIDGE,),
              "C JD large appliance: 送货上门, pick-up of a large item within 4 h", paid_ago=6 * D,
              freight_insurance=True, service_tags=("闪电退款", "送货上门"),
              shipment=_ship("京东物流", 5, signed_on_day(4, 10))),
    # b_demo_9 — Pinduoduo.
    OrderSpec(_num(9, 1), "b_demo_9", "demo_pdd", "signed", (FRIDGE,),
              "D 送货上门 promised but left downstairs -> no-threshold voucher (无门槛代金券)",
              paid_ago=5 * D, service_tags=("送货上门", "全国联保", "退货包运费"),
              shipment=_ship("德邦快递", 4, signed_on_day(2, 16, by="third_party"))),
    OrderSpec(_num(9, 2), "b_demo_9", "demo_pdd", "signed", (KETTLE,),
              "D 退货包运费: the shop pays the return shipping", paid_ago=4 * D,
              service_tags=("退货包运费", "极速退款"), shipment=_ship("中通快递", 3, signed_on_day(1, 14))),
    OrderSpec(_num(9, 3), "b_demo_9", "demo_pdd", "paid_unshipped", (WASHER,),
              "D 48小时发货 promised, paid 3 days ago, not shipped -> late shipment",
              paid_ago=3 * D, ship_within=48 * H, service_tags=("48小时发货", "送装服务")),
    # b_demo_10 — repeat claimer (its earlier claims are PRIOR_CLAIMS below).
    OrderSpec(_num(10, 1), "b_demo_10", "demo_tmall", "signed", (BOTTLE_20,),
              "abuse risk: a fifth damage claim from a buyer with four earlier ones", paid_ago=3 * D,
              shipment=_ship("中通快递", 2, signed_on_day(1, 13))),
    OrderSpec(_num(10, 2), "b_demo_10", "demo_tmall", "completed", (BOTTLE_20,),
              "earlier claim: damaged, settled 2+3 yuan", paid_ago=40 * D,
              shipment=_ship("中通快递", 39, signed_on_day(37)), completed_ago=30 * D),
    OrderSpec(_num(10, 3), "b_demo_10", "demo_tmall", "completed", (JAR_SEALED,),
              "earlier claim: leaking, settled 2+3 yuan + sealing ring", paid_ago=35 * D,
              shipment=_ship("中通快递", 34, signed_on_day(32)), completed_ago=25 * D),
    OrderSpec(_num(10, 4), "b_demo_10", "demo_tmall", "completed", (CUP_SET,),
              "earlier claims: missing item re-sent, then a scratch 2 yuan", paid_ago=28 * D,
              shipment=_ship("中通快递", 27, signed_on_day(25)), completed_ago=18 * D),
    # b_demo_11 — before shipping (rules B).
    OrderSpec(_num(11, 1), "b_demo_11", "demo_tmall", "paid_unshipped", (BOTTLE_20,),
              "B late shipment: ordinary listing paid 4 days ago, 72 h deadline passed -> 30% (<= 500 yuan)",
              paid_ago=4 * D),
    OrderSpec(_num(11, 2), "b_demo_11", "demo_tmall", "paid_unshipped", (CUP_SET,),
              "B within 72 h: paid 20 hours ago, not late yet", paid_ago=20 * H),
    OrderSpec(_num(11, 3), "b_demo_11", "demo_tmall", "paid_unshipped", (BOTTLE_1050,),
              "B 聚划算 paid 5 days ago: within its 7-day deadline", paid_ago=5 * D,
              listing_kind="juhuasuan", service_tags=("聚划算",)),
    OrderSpec(_num(11, 4), "b_demo_11", "demo_tmall", "paid_unshipped", (ItemSpec(
              "GL-BOTTLE-500", "透明玻璃水瓶 500ml (聚划算价)", "glass", "20.00", paid="15.90"),),
              "B 聚划算 paid 9 days ago: over the 7-day deadline -> late", paid_ago=9 * D,
              listing_kind="juhuasuan", service_tags=("聚划算",)),
    OrderSpec(_num(11, 5), "b_demo_11", "demo_tmall", "paid_unshipped", (NIGHTSTAND,),
              "B presale: ships on the date stated in the listing (10 days from today), not late",
              paid_ago=3 * D, listing_kind="presale", presale_in_days=10),
    OrderSpec(_num(11, 6), "b_demo_11", "demo_tmall", "paid_unshipped", (TEA,),
              "B out of stock (卖家缺货): 30% <= 500 yuan, or 5% of the order (rule-pack setting)",
              paid_ago=30 * H),
    OrderSpec(_num(11, 7), "b_demo_11", "demo_tmall", "unpaid", (VASE,),
              "B unpaid: refusing to ship before payment is the 1-point rule, no compensation",
              paid_ago=None),
    OrderSpec(_num(11, 8), "b_demo_11", "demo_tmall", "closed", (BOTTLE_1050,),
              "closed order: refunded before shipping", paid_ago=12 * D, closed_ago=11 * D),
    # b_demo_12 — Taobao 3★, window edges.
    OrderSpec(_num(12, 1), "b_demo_12", "demo_taobao", "signed", (BOTTLE_20,),
              "B 7 days with a date-only record 8 days ago: window ran to 00:00 of the day after +168 h "
              "-> closed yesterday", paid_ago=11 * D,
              shipment=_ship("韵达快递", 10, signed_date_only(8))),
    OrderSpec(_num(12, 2), "b_demo_12", "demo_taobao", "signed", (TSHIRT,),
              "B 7 days, exact time exactly 6 days ago: 24 h of the 168 h left", paid_ago=9 * D,
              shipment=_ship("韵达快递", 8, signed_ago(days=6))),
    OrderSpec(_num(12, 3), "b_demo_12", "demo_taobao", "signed", (CUP_SET,),
              "B not received but signed by a third party (驿站): shop needs the courier's delegation letter",
              paid_ago=5 * D, shipment=_ship("圆通速递", 4, signed_on_day(2, 17, by="third_party"))),
    OrderSpec(_num(12, 4), "b_demo_12", "demo_taobao", "signed", (NUTS, VITAMIN),
              "B no 7-day no-reason for opened food and medicine", paid_ago=4 * D,
              shipment=_ship("韵达快递", 3, signed_on_day(1, 10))),
    OrderSpec(_num(12, 5), "b_demo_12", "demo_taobao", "completed", (BOTTLE_1050,),
              "B 15-day window: completed 20 days ago (outside); refused within 7 days -> platform within 14",
              paid_ago=32 * D, shipment=_ship("韵达快递", 31, signed_on_day(29)), completed_ago=20 * D),
    OrderSpec(_num(12, 6), "b_demo_12", "demo_taobao", "signed", (BOTTLE_20,),
              "A11 buyer's fault (wrong address, re-delivered): shipping deducted from the refund",
              paid_ago=7 * D, free_shipping=False, shipment=_ship("韵达快递", 6, signed_on_day(1, 16))),
    # b_demo_13 — price protection (D 价保30天); the catalog prices are CATALOG_PRICES below.
    OrderSpec(_num(13, 1), "b_demo_13", "demo_tmall", "signed", (DECANTER,),
              "D 价保30天: paid 128.00 six days ago, the listing is 98.00 since 2 days ago -> refund 30.00",
              paid_ago=6 * D, service_tags=("价保30天",), shipment=_ship("中通快递", 5, signed_on_day(3, 14))),
    OrderSpec(_num(13, 2), "b_demo_13", "demo_tmall", "signed", (TEAPOT, TEAPOT),
              "D 价保: two teapots at 59.00, now 49.00 -> refund 10.00 x 2 = 20.00", paid_ago=10 * D,
              service_tags=("价保",), shipment=_ship("中通快递", 9, signed_on_day(7, 10))),
    OrderSpec(_num(13, 3), "b_demo_13", "demo_tmall", "completed", (DECANTER,),
              "D 价保30天 out of window: paid 40 days ago; the drop 2 days ago is too late", paid_ago=40 * D,
              service_tags=("价保30天",), shipment=_ship("中通快递", 39, signed_on_day(37)), completed_ago=30 * D),
    OrderSpec(_num(13, 4), "b_demo_13", "demo_tmall", "signed", (CARAFE,),
              "D no 价保 tag: 45.00, now 35.00 -> not covered (an agent may decide)", paid_ago=5 * D,
              shipment=_ship("中通快递", 4, signed_on_day(2, 11))),
    OrderSpec(_num(13, 5), "b_demo_13", "demo_tmall", "signed", (STORAGE_SET,),
              "D 价保30天 but the price went UP (69.00 -> 79.00): no difference", paid_ago=4 * D,
              service_tags=("价保30天",), shipment=_ship("中通快递", 3, signed_on_day(1, 17))),
)

# The catalog: every SKU of the demo orders is listed at its order price from CATALOG_SINCE ago; these
# listings then change price (shop code, SKU, price, how long ago, service tags). The same price-protection
# tags are on the listing and on the orders that bought it.
CATALOG_SINCE = 90 * D
CATALOG_TAGS = {"GL-DECANTER": ("价保30天",), "GL-TEAPOT": ("价保",), "GL-STORAGE-SET": ("价保30天",)}
CATALOG_PRICES = (
    ("demo_tmall", "GL-DECANTER", "98.00", 2 * D, "双12活动降价"),
    ("demo_tmall", "GL-TEAPOT", "49.00", 1 * D, "店铺满减活动"),
    ("demo_tmall", "GL-CARAFE", "35.00", 3 * D, "清仓"),
    ("demo_tmall", "GL-STORAGE-SET", "79.00", 2 * D, "原料涨价"),
)

PRIOR_CLAIMS = (
    PriorClaimSpec("b_demo_10", _num(10, 2), "damaged", 33,
                   (("compensation", "2.00", "A1.first_offer"), ("review_rebate", "3.00", "A1.first_offer")),
                   "破损，补偿2元+好评返现3元，已结清"),
    PriorClaimSpec("b_demo_10", _num(10, 3), "leaking", 29,
                   (("compensation", "2.00", "A3.first_offer"), ("review_rebate", "3.00", "A3.first_offer"),
                    ("reship", "0.00", "A3.sealing_ring")),
                   "漏水，补偿2元+返现3元+补寄密封圈"),
    PriorClaimSpec("b_demo_10", _num(10, 4), "missing_item", 24,
                   (("reship", "0.00", "A5.reship"),), "少件，已补发"),
    PriorClaimSpec("b_demo_10", _num(10, 4), "minor_defect", 20,
                   (("compensation", "2.00", "A4.scratch"),), "划痕，补偿2元"),
)


# --- seeding ---------------------------------------------------------------------------------------------

def seed_demo_shop(session: Session, now: datetime | None = None) -> SeedReport:
    """Create or refresh the demo shop in the caller's transaction (the caller commits)."""
    now = (now or now_cn()).astimezone(CN_TZ).replace(microsecond=0)
    report = SeedReport()
    shops = {spec.code: _upsert_shop(session, spec, report) for spec in SHOPS}
    # One query each for what already exists (instead of a few per row): the seed runs at every start.
    session.execute(select(Buyer).where(Buyer.id.in_([spec.id for spec in BUYERS]))).scalars().all()
    existing = {order.order_number: order for order in session.execute(
        select(Order).where(Order.order_number.in_([spec.number for spec in ORDERS]))
        .options(selectinload(Order.items), selectinload(Order.shipments))).scalars()}
    for spec in BUYERS:
        _upsert_buyer(session, spec, report)
    session.flush()
    orders = {spec.number: _upsert_order(session, spec, existing.get(spec.number), shops[spec.shop], now, report)
              for spec in ORDERS}
    session.flush()
    for claim in PRIOR_CLAIMS:
        _seed_prior_claim(session, claim, orders[claim.order], now, report)
    _seed_invoice_request(session, orders[_num(5, 3)], report)
    _seed_catalog(session, shops, now, report)
    session.flush()
    return report


def _seed_catalog(session: Session, shops: dict[str, Shop], now: datetime, report: SeedReport) -> None:
    """A listing per (shop, SKU) of the demo orders with its price history. The seed's own history rows are
    rewritten with fresh times at every run; price changes made by people (CLI, agents) are kept."""
    first_price: dict[tuple[str, str], ItemSpec] = {}
    for order in ORDERS:
        for item in order.items:
            first_price.setdefault((order.shop, item.sku), item)
    changes: dict[tuple[str, str], list] = {}
    for shop_code, sku, price, ago, reason in CATALOG_PRICES:
        changes.setdefault((shop_code, sku), []).append((price, ago, reason))
    for (shop_code, sku), item in first_price.items():
        existing = catalog.listing(session, shops[shop_code].id, sku)
        report.count("catalog_listings", existing is None)
        entry = catalog.upsert_listing(session, shops[shop_code], sku, title=item.title.split(" (")[0],
                                       service_tags=CATALOG_TAGS.get(sku, ()))
        for row in [row for row in entry.prices if row.changed_by == "seed"]:
            entry.prices.remove(row)
        session.flush()
        history = [(item.price, CATALOG_SINCE, "上架")] + changes.get((shop_code, sku), [])
        for price, ago, reason in history:
            catalog.set_price(session, shop_code, sku, yuan_to_fen(price), changed_by="seed", reason=reason,
                              effective_from=now - ago)


def _upsert_shop(session: Session, spec: ShopSpec, report: SeedReport) -> Shop:
    shop = session.execute(select(Shop).where(Shop.code == spec.code)).scalar_one_or_none()
    report.count("shops", shop is None)
    if shop is None:
        shop = Shop(code=spec.code)
        session.add(shop)
    shop.name, shop.platform = spec.name, spec.platform
    return shop


def _upsert_buyer(session: Session, spec: BuyerSpec, report: SeedReport) -> Buyer:
    buyer = session.get(Buyer, spec.id)
    report.count("buyers", buyer is None)
    if buyer is None:
        buyer = Buyer(id=spec.id)
        session.add(buyer)
    buyer.platform, buyer.credit_tier, buyer.nickname, buyer.note = spec.platform, spec.tier, spec.nickname, spec.note
    return buyer


def _upsert_order(session: Session, spec: OrderSpec, order: Order | None, shop: Shop, now: datetime,
                  report: SeedReport) -> Order:
    report.count("orders", order is None)
    if order is None:
        order = Order(order_number=spec.number)
        session.add(order)
    paid_at = now - spec.paid_ago if spec.paid_ago is not None else None
    presale_date = now.date() + timedelta(days=spec.presale_in_days) if spec.presale_in_days is not None else None
    order.shop, order.buyer_id, order.platform, order.status = shop, spec.buyer, shop.platform, spec.status
    order.paid_at = paid_at
    order.ship_by = _ship_by(spec.listing_kind, paid_at, presale_date, spec.ship_within)
    order.listing_kind, order.presale_ship_date = spec.listing_kind, presale_date
    order.free_shipping, order.freight_insurance = spec.free_shipping, spec.freight_insurance
    order.service_tags = list(spec.service_tags)
    order.completed_at = now - spec.completed_ago if spec.completed_ago is not None else None
    order.closed_at = now - spec.closed_ago if spec.closed_ago is not None else None
    order.note = spec.note
    if paid_at is not None and order.created_at is None:
        order.created_at = paid_at - 10 * timedelta(minutes=1)
    _sync_items(order, spec.items)
    _sync_shipment(order, spec.shipment, now)
    return order


def _ship_by(listing_kind: str, paid_at: datetime | None, presale_date: date | None,
             ship_within: timedelta | None) -> datetime | None:
    """The latest promised shipping time: 72 h / 7 days (or the listing's own promise) after payment,
    or the end of the presale date."""
    if paid_at is None:
        return None
    if listing_kind == "presale":
        return datetime.combine(presale_date + timedelta(days=1), time(0), tzinfo=CN_TZ)
    return paid_at + (ship_within or SHIP_WITHIN[listing_kind])


def _sync_items(order: Order, specs: tuple[ItemSpec, ...]) -> None:
    """Make the order's lines match the spec, updating lines in place (matched by SKU and position)."""
    merged = _merge_same_sku(specs)
    while len(order.items) > len(merged):
        order.items.pop()
    for index, spec in enumerate(merged):
        item = order.items[index] if index < len(order.items) else None
        if item is None:
            item = OrderItem()
            order.items.append(item)
        item.sku, item.title, item.category, item.qty = spec.sku, spec.title, spec.category, spec.qty
        item.unit_price_fen, item.paid_fen = yuan_to_fen(spec.price), spec.paid_fen()
        item.no_return_when_opened = spec.no_return_when_opened


def _merge_same_sku(specs: tuple[ItemSpec, ...]) -> list[ItemSpec]:
    """(BOTTLE, BOTTLE) in a spec means one line with qty 2, as a platform shows it."""
    merged: dict[str, ItemSpec] = {}
    for spec in specs:
        if spec.sku in merged:
            first = merged[spec.sku]
            merged[spec.sku] = ItemSpec(first.sku, first.title, first.category, first.price,
                                        first.qty + spec.qty, fen_to_yuan(first.paid_fen() + spec.paid_fen()),
                                        first.no_return_when_opened)
        else:
            merged[spec.sku] = spec
    return list(merged.values())


def _sync_shipment(order: Order, spec: ShipmentSpec | None, now: datetime) -> None:
    if spec is None:
        order.shipments.clear()
        return
    while len(order.shipments) > 1:
        order.shipments.pop()
    shipment = order.shipments[0] if order.shipments else None
    if shipment is None:
        shipment = Shipment()
        order.shipments.append(shipment)
    shipped_at = now - spec.shipped_ago
    signed_at = spec.signing.resolve(now) if spec.signing else None
    shipment.courier, shipment.waybill, shipment.status = spec.courier, _waybill(spec.courier, order), spec.status
    shipment.shipped_at = shipped_at
    shipment.expected_delivery = signed_at if signed_at else now + spec.expected_in
    shipment.signed_at = signed_at
    shipment.signed_date_only = bool(spec.signing and spec.signing.mode == "date_only")
    shipment.signed_by = spec.signing.by if spec.signing else None
    shipment.events = _tracking_events(spec, shipped_at, signed_at)


COURIER_CODES = {"中通快递": "ZT", "圆通速递": "YT", "韵达快递": "YD", "申通快递": "ST", "顺丰速运": "SF",
                 "京东物流": "JD", "德邦快递": "DB", "日日顺物流": "RRS", "百世快递": "BS"}


def _waybill(courier: str, order: Order) -> str:
    return f"{COURIER_CODES.get(courier, 'KD')}{order.order_number[-8:]}{len(order.order_number):02d}"


def _tracking_events(spec: ShipmentSpec, shipped_at: datetime, signed_at: datetime | None) -> list[dict]:
    events = [{"at": shipped_at.isoformat(), "text": f"【{spec.courier}】已揽收"},
              {"at": (shipped_at + 8 * H).isoformat(), "text": "快件已到达转运中心，运输中"}]
    if spec.status == "out_for_delivery":
        events.append({"at": (shipped_at + 30 * H).isoformat(), "text": "快件派送中，请保持电话畅通"})
    if signed_at is not None:
        who = "本人签收" if spec.signing.by == "buyer" else "已由驿站/门卫代收"
        when = signed_at.date().isoformat() if spec.signing.mode == "date_only" else signed_at.isoformat()
        events.append({"at": when, "text": f"快件已签收（{who}）"})
    return events


def _seed_prior_claim(session: Session, claim: PriorClaimSpec, order: Order, now: datetime,
                      report: SeedReport) -> None:
    conversation_id = f"seed:{claim.buyer}:{claim.order}:{claim.intent}"
    case = session.execute(
        select(AfterSalesCase).where(AfterSalesCase.conversation_id == conversation_id)
    ).scalar_one_or_none()
    report.count("aftersales_cases", case is None)
    if case is None:
        case = AfterSalesCase(conversation_id=conversation_id, buyer_id=claim.buyer, intent=claim.intent,
                              order_id=order.id, status="resolved", refusals=0,
                              created_at=now - claim.days_ago * D, closed_at=now - claim.days_ago * D + H)
        session.add(case)
    case.summary = claim.summary
    session.flush()
    for kind, amount, rule_id in claim.grants:
        entry, created = grant(session, f"{conversation_id}:{kind}", kind=kind, amount_fen=yuan_to_fen(amount),
                           rule_id=rule_id, seed_rule=rule_id.split(".")[0], case_id=case.id,
                           order_id=order.id, buyer_id=claim.buyer, state="paid", note="demo seed")
        if created:
            entry.created_at = entry.updated_at = case.created_at  # the history shows when it was granted
        report.count("ledger_entries", created)


def _seed_invoice_request(session: Session, order: Order, report: SeedReport) -> None:
    exists = session.execute(select(InvoiceRequest).where(InvoiceRequest.order_id == order.id)).first()
    report.count("invoice_requests", exists is None)
    if exists is None:
        record_invoice_request(session, order, title="上海某某科技有限公司", tax_number="91310000MA1K000000")


def demo_listing(session: Session) -> str:
    """The demo buyers and their orders, with what each exercises (`python -m bot db demo`)."""
    from bot.db.queries import prior_claims  # late import: queries does not need the seed, and vice versa

    lines = []
    for spec in BUYERS:
        buyer = session.get(Buyer, spec.id)
        if buyer is None:
            continue
        tier = {"tmall": f"{buyer.credit_tier}★", "taobao": f"{buyer.credit_tier}★", "jd": buyer.credit_tier,
                "pdd": "no tier"}[buyer.platform]
        claims = prior_claims(session, buyer.id)
        extra = f", {claims} earlier claims" if claims else ""
        lines.append(f"{buyer.id}  {buyer.platform} {tier}{extra} — {buyer.note}")
        for order in sorted(buyer.orders, key=lambda o: o.order_number):
            goods = " + ".join(f"{i.title} ¥{fen_to_yuan(i.unit_price_fen)}" + (f" x{i.qty}" if i.qty > 1 else "")
                               for i in order.items)
            lines.append(f"  {order.order_number}  {order.status:<14} {goods}")
            lines.append(f"      {order.note}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
