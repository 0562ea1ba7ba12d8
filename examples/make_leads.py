"""Write examples/leads.csv: synthetic leads to try nurture with (`nurture leads import …`).

Deterministic: the same --seed and --count always write the same file, byte for byte, so the
committed CSV can be regenerated and checked. Every address is at example.com, example.org or
example.net (reserved for examples, RFC 2606), so nothing can ever reach a real person.
A few rows deliberately lack optional fields (no first name, no company, …) as real lists do.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

HEADER = ("email", "first_name", "last_name", "company", "title", "industry", "employees",
          "source", "country", "timezone", "deal_value", "crm_id", "plan_interest")
DOMAINS = ("example.com", "example.org", "example.net")
DEFAULT_COUNT, DEFAULT_SEED = 320, 2718
DEFAULT_OUT = Path(__file__).with_name("leads.csv")

# Name pools by naming culture: "first names / last names", names separated by "|".
NAMES = {
    "en": "Emily|Michael|Olivia|Marcus|Hannah|Tyler|Aaliyah|Brandon|Grace|DeShawn|Megan|Ethan"
          " / Johnson|Williams|Brooks|Patel|O'Connor|Ramirez|Kim|Sullivan|Washington|Nguyen|Reed",
    "gb": "Zoë|Oliver|Siobhán|Niamh|Callum|Harriet|Rhys|Amara|Freddie|Imogen"
          " / Thompson|O'Brien|Fitzgerald|Davies|Clarke|Ó Súilleabháin|Okonjo|Hughes|Evans",
    "de": "Jürgen|Anja|Lukas|Jörg|Lena|Maximilian|Hanna|Sören|Käthe"
          " / Müller|Schäfer|Weiß|Köhler|Becker|Groß|Hoffmann|Brandstätter",
    "fr": "Hélène|Théo|Chloé|François|Léa|Mathis|Amélie|Noël|Émilie|Gabriel"
          " / Lefèvre|Dubois|Girard|Faure|Benoît|Roussel|Tremblay|Côté|Gagnon",
    "es": "José|Lucía|María José|Sofía|Andrés|Íñigo|Martín|Valentina|Ramón"
          " / García|Núñez|Pérez|Fernández|Muñoz|Ibáñez|Rodríguez|Castaño",
    "pt": "João|Ana Luísa|Gonçalo|Thiago|Fernanda|Inês|Conceição"
          " / Gonçalves|Araújo|Magalhães|Silva|Simões|Brandão",
    "sv": "Åsa|Björn|Linnéa|Göran|Maja|Ingrid|Måns / Lindqvist|Åström|Sjöberg|Nyström|Ekström",
    "da": "Søren|Mette|Bjørn|Sigrid|Øystein|Frederikke / Jørgensen|Nørgaard|Kjær|Sørensen|Løvås",
    "pl": "Łukasz|Agnieszka|Małgorzata|Paweł|Zofia|Wojciech"
          " / Wójcik|Kowalczyk|Zieliński|Wiśniewska|Dąbrowski|Łuczak",
    "nl": "Sanne|Daan|Zoë|Bram|Femke|Joost / de Vries|van den Berg|Jansen|Bakker|van Dijk",
    "it": "Giulia|Matteo|Niccolò|Chiara|Lorenzo|Francesca / Rossi|Esposito|Bianchi|Caruso|Galli",
    "tr": "Ayşe|Çağrı|Emre|Şule|Gökhan|Zeynep / Yılmaz|Öztürk|Çelik|Şahin|Doğan",
    "ar": "Omar|Fatima|Layla|Yousef|Rania|Karim / Al-Mansouri|Haddad|Khoury|Nasser|El-Amin",
    "he": "Noa|Yael|Itai|Avi|Tamar / Levi|Cohen|Mizrahi|Friedman",
    "in": "Priya|Arjun|Ananya|Rohan|Lakshmi|Vikram|Aditi|Karthik"
          " / Sharma|Iyer|Reddy|Banerjee|Nair|Gupta|Krishnan",
    "zh": "Wei|Xiaoling|Jun|Mei|Hao|芳|Yan / 王|李|Zhang|Chen|Liu|Huang",
    "ja": "Yuki|Haruto|Sakura|Kenji|Aoi|Ren / 佐藤|Tanaka|Suzuki|高橋|Watanabe",
    "ko": "Ji-woo|Min-jun|Seo-yeon|Hyun-woo / Kim|Park|Lee|Choi|Jung",
    "vi": "Thảo|Minh|Linh|Quang|Hương|Đức / Nguyễn|Trần|Lê|Phạm|Võ",
    "sg": "Wei Ling|Darren|Nur Aisyah|Jia Hui|Rajesh / Tan|Lim|Ong|Rahman|Goh",
    "au": "Chloe|Jack|Aroha|Tama|Mia|Lachlan / Walker|Ngata|Te Awa|Harris|Mitchell",
    "za": "Thandiwe|Sipho|Pieter|Anika|Lerato / Nkosi|van der Merwe|Dlamini|Botha|Mokoena",
    "ng": "Chidinma|Oluwaseun|Emeka|Ngozi|Tunde / Okafor|Adeyemi|Eze|Balogun|Nwosu",
    "ke": "Wanjiru|Otieno|Achieng|Kamau|Njeri / Mwangi|Odhiambo|Njoroge|Wekesa",
}
# Romanized forms of names written in scripts that have no Latin letters, for email addresses.
ROMAN = {"王": "wang", "李": "li", "芳": "fang", "佐藤": "sato", "高橋": "takahashi"}
ASCII = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "æ": "ae", "ß": "ss", "đ": "d",
                       "Đ": "D", "ı": "i", "œ": "oe", "þ": "th"})

# Country: (weight, naming culture, IANA time zones, legal suffix of company names).
COUNTRIES = {
    "US": (22, "en", "America/New_York America/Chicago America/Denver America/Los_Angeles"
                     " America/Phoenix Pacific/Honolulu", "Inc."),
    "CA": (4, "fr", "America/Toronto America/Vancouver America/Edmonton America/Halifax", "Inc."),
    "MX": (2, "es", "America/Mexico_City America/Monterrey", "S.A. de C.V."),
    "BR": (3, "pt", "America/Sao_Paulo America/Manaus", "Ltda."),
    "AR": (1, "es", "America/Argentina/Buenos_Aires", "S.A."),
    "CO": (1, "es", "America/Bogota", "S.A.S."),
    "CL": (1, "es", "America/Santiago", "SpA"),
    "GB": (9, "gb", "Europe/London", "Ltd"),
    "IE": (2, "gb", "Europe/Dublin", "Ltd"),
    "DE": (7, "de", "Europe/Berlin", "GmbH"),
    "AT": (1, "de", "Europe/Vienna", "GmbH"),
    "CH": (2, "de", "Europe/Zurich", "AG"),
    "FR": (5, "fr", "Europe/Paris", "SAS"),
    "ES": (3, "es", "Europe/Madrid Atlantic/Canary", "S.L."),
    "PT": (1, "pt", "Europe/Lisbon", "Lda."),
    "IT": (2, "it", "Europe/Rome", "S.r.l."),
    "NL": (3, "nl", "Europe/Amsterdam", "B.V."),
    "SE": (2, "sv", "Europe/Stockholm", "AB"),
    "DK": (2, "da", "Europe/Copenhagen", "A/S"),
    "NO": (1, "da", "Europe/Oslo", "AS"),
    "PL": (2, "pl", "Europe/Warsaw", "Sp. z o.o."),
    "TR": (1, "tr", "Europe/Istanbul", "A.Ş."),
    "IL": (1, "he", "Asia/Jerusalem", "Ltd"),
    "AE": (1, "ar", "Asia/Dubai", "LLC"),
    "IN": (5, "in", "Asia/Kolkata", "Pvt Ltd"),
    "SG": (2, "sg", "Asia/Singapore", "Pte Ltd"),
    "CN": (2, "zh", "Asia/Shanghai", "Co., Ltd."),
    "JP": (2, "ja", "Asia/Tokyo", "K.K."),
    "KR": (1, "ko", "Asia/Seoul", "Co., Ltd."),
    "VN": (1, "vi", "Asia/Ho_Chi_Minh", "JSC"),
    "AU": (4, "au", "Australia/Sydney Australia/Melbourne Australia/Brisbane Australia/Perth",
           "Pty Ltd"),
    "NZ": (1, "au", "Pacific/Auckland", "Ltd"),
    "ZA": (1, "za", "Africa/Johannesburg", "(Pty) Ltd"),
    "NG": (1, "ng", "Africa/Lagos", "Ltd"),
    "KE": (1, "ke", "Africa/Nairobi", "Ltd"),
}

# Industry: words that end its company names.
INDUSTRIES = {
    "Logistics": "Freight|Logistics|Shipping|Transport",
    "Manufacturing": "Manufacturing|Industries|Works|Components",
    "Retail": "Retail|Stores|Market|Outfitters",
    "Healthcare": "Health|Clinics|Medical|Care",
    "Financial Services": "Capital|Insurance|Financial|Credit Union",
    "Software": "Software|Labs|Cloud|Systems",
    "Education": "Academy|Learning|College",
    "Hospitality": "Hotels|Hospitality|Resorts",
    "Construction": "Construction|Builders|Engineering",
    "Energy": "Energy|Power|Renewables",
    "Professional Services": "Partners|Consulting|Advisory",
    "Nonprofit": "Foundation|Trust|Alliance",
}
PREFIXES = ("Northwind|Bluefin|Kestrel|Halden|Brightline|Juniper|Meridian|Cobalt|Tidewater|"
            "Larkspur|Granite|Silverline|Aurora|Harbor|Fjord|Summit|Copperleaf|Redwood|Polaris|"
            "Ironbridge|Saltmarsh|Lumen|Quarry|Orchard|Beacon|Wren|Alder|Marigold|Cinder|Vantage")
# Hand-written companies, each with one named contact: non-ASCII names, a comma that needs
# CSV quoting, and the extremes of company size. They come first, so every seed has them.
SPECIAL_COMPANIES = (
    ("Nørrebro Cykler", "DK", "Retail", 14, "Søren|Nørgaard"),
    ("Müller & Söhne", "DE", "Manufacturing", 860, "Jürgen|Weiß"),
    ("Société Lumière", "FR", "Energy", 2300, "Hélène|Lefèvre"),
    ("Łódź Logistyka", "PL", "Logistics", 410, "Łukasz|Wójcik"),
    ("Hart, Lowe & Partners LLP", "GB", "Professional Services", 95, "Zoë|Clarke"),
    ("Ekholm Sjöfart AB", "SE", "Logistics", 640, "Åsa|Åström"),
    ("Clínicas San Rafael", "ES", "Healthcare", 1200, "José|Núñez"),
    ("Sông Hồng Trading", "VN", "Retail", 180, "Thảo|Nguyễn"),
    ("Jade River Software", "CN", "Software", 75, "芳|王"),
    ("Corrib Care", "IE", "Healthcare", 260, "Siobhán|Ó Súilleabháin"),
    ("Pip & Fern Studio", "NZ", "Professional Services", 3, "Aroha|Ngata"),
    ("Meridian Global Logistics", "US", "Logistics", 20000, "Marcus|Washington"),
)

# Job titles by seniority, each with the share of leads at that level.
TITLES = (
    (5, "Operations Intern|Finance Intern|Marketing Intern"),
    (25, "Operations Coordinator|Operations Analyst|Procurement Specialist|Business Analyst|"
         "Executive Assistant|Accounts Payable Specialist|Customer Support Specialist|"
         "Software Engineer|Supply Chain Coordinator"),
    (34, "Operations Manager|Finance Manager|IT Manager|Supply Chain Manager|Office Manager|"
         "Project Manager|RevOps Lead|Team Lead, Fulfilment|People Operations Manager"),
    (22, "Senior Operations Manager|Director of Operations|Head of Business Operations|"
         "Director of IT|Head of People Operations|Director of Finance|Head of Procurement"),
    (14, "VP Operations|VP Finance|Vice President, Supply Chain|Chief Operating Officer|"
         "Chief Financial Officer|Chief Technology Officer|CEO|Managing Director"),
)
SMALL_COMPANY_TITLES = "Founder & CEO|Owner|Co-founder|Office Manager|Operations Manager"
SOURCES = {"organic": 18, "paid_search": 12, "webinar": 14, "content_download": 16,
           "event": 10, "referral": 8, "partner": 8, "outbound": 14}
ROLE_MAILBOXES = ("operations", "ops", "procurement", "finance.ops", "hello", "office")


@dataclass(frozen=True)
class Company:
    name: str
    country: str
    industry: str
    employees: int
    contact: str = ""  # "First|Last" of a fixed first contact


def pick(rng: random.Random, weighted: dict[str, int]) -> str:
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


def ascii_slug(name: str) -> str:
    """'Søren' → 'soren', 'Ó Súilleabháin' → 'osuilleabhain', '王' → 'wang': for addresses."""
    if name in ROMAN:
        return ROMAN[name]
    decomposed = unicodedata.normalize("NFKD", name.translate(ASCII))
    slug = re.sub(r"[^a-z0-9-]", "", decomposed.encode("ascii", "ignore").decode().lower())
    if not slug:
        raise ValueError(f"no Latin letters in {name!r}: add its romanized form to ROMAN")
    return slug


def round_size(employees: float) -> int:
    """Headcounts as people report them: exact when small, rounded when large."""
    step = 1 if employees < 50 else 5 if employees < 1000 else 50
    return max(3, min(20000, int(round(employees / step) * step)))


def make_companies(rng: random.Random, count: int) -> list[Company]:
    companies = [Company(*special) for special in SPECIAL_COMPANIES]
    used = {c.name for c in companies}
    countries = {code: spec[0] for code, spec in COUNTRIES.items()}
    while len(companies) < count:
        industry = rng.choice(list(INDUSTRIES))
        country = pick(rng, countries)
        base = f"{rng.choice(PREFIXES.split('|'))} {rng.choice(INDUSTRIES[industry].split('|'))}"
        if base in used:
            continue
        used.add(base)
        suffix = COUNTRIES[country][3]
        name = f"{base} {suffix}" if rng.random() < 0.35 else base
        size = round_size(math.exp(rng.uniform(math.log(3), math.log(20000))))
        companies.append(Company(name, country, industry, size))
    return companies


def pick_title(rng: random.Random, employees: int) -> str:
    if employees < 20 and rng.random() < 0.6:
        return rng.choice(SMALL_COMPANY_TITLES.split("|"))
    level = rng.choices([titles for _, titles in TITLES], weights=[w for w, _ in TITLES])[0]
    return rng.choice(level.split("|"))


def deal_value(rng: random.Random, employees: int) -> int:
    """An annual contract estimate that grows with company size, rounded to 500."""
    estimate = employees * rng.uniform(8, 25)
    return int(round(max(1500, min(250000, estimate)) / 500) * 500)


def plan_interest(rng: random.Random, employees: int) -> str:
    if rng.random() < 0.3:
        return ""
    plans = ("team", "business", "enterprise")
    index = 0 if employees < 50 else 1 if employees < 1000 else 2
    if rng.random() < 0.2:
        index = min(2, max(0, index + rng.choice((-1, 1))))
    return plans[index]


def make_email(rng: random.Random, first: str, last: str, company: Company,
               seen: set[str]) -> str:
    domain = DOMAINS[sum(map(ord, company.name)) % len(DOMAINS)]
    if first:
        first_slug, last_slug = ascii_slug(first), ascii_slug(last)
        local = rng.choice((f"{first_slug}.{last_slug}", f"{first_slug[:1]}{last_slug}",
                            f"{first_slug}_{last_slug}", f"{first_slug}"))
    else:
        local = f"{rng.choice(ROLE_MAILBOXES)}.{ascii_slug(company.name.split()[0])}"
    candidate, number = local, 1
    while f"{candidate}@{domain}" in seen:
        number += 1
        candidate = f"{local}{number}"
    seen.add(f"{candidate}@{domain}")
    # Some people type their address with capitals; nurture treats it case-insensitively.
    return f"{candidate.title() if rng.random() < 0.03 else candidate}@{domain}"


def pick_name(rng: random.Random, culture: str) -> tuple[str, str]:
    """A first and last name of the culture; about one in twenty has no first name."""
    firsts, lasts = (part.strip().split("|") for part in NAMES[culture].split(" / "))
    first = "" if rng.random() < 0.05 else rng.choice(firsts)
    last = "" if not first and rng.random() < 0.5 else rng.choice(lasts)
    return first, last


def make_lead(rng: random.Random, company: Company, crm_number: int, seen: set[str],
              *, first_contact: bool = False) -> dict[str, str]:
    _, culture, zones, _ = COUNTRIES[company.country]
    first, last = pick_name(rng, culture)
    if first_contact and company.contact:
        first, last = company.contact.split("|")
    return {
        "email": make_email(rng, first, last, company, seen),
        "first_name": first,
        "last_name": last,
        "company": "" if rng.random() < 0.05 else company.name,
        "title": "" if rng.random() < 0.07 else pick_title(rng, company.employees),
        "industry": "" if rng.random() < 0.06 else company.industry,
        "employees": "" if rng.random() < 0.08 else str(company.employees),
        "source": "" if rng.random() < 0.02 else pick(rng, SOURCES),
        "country": "" if rng.random() < 0.03 else company.country,
        "timezone": "" if rng.random() < 0.04 else rng.choice(zones.split()),
        "deal_value": "" if rng.random() < 0.15 else str(deal_value(rng, company.employees)),
        "crm_id": f"CRM-{crm_number:06d}",
        "plan_interest": plan_interest(rng, company.employees),
    }


def make_leads(count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> list[dict[str, str]]:
    """`count` leads at about count/2.5 companies, so some accounts have several contacts."""
    rng = random.Random(seed)
    companies = make_companies(rng, max(len(SPECIAL_COMPANIES), round(count / 2.5)))
    seen: set[str] = set()
    leads = []
    for number in range(count):
        first_contact = number < len(companies)
        company = companies[number] if first_contact else rng.choice(companies)
        leads.append(make_lead(rng, company, 100001 + number, seen, first_contact=first_contact))
    return leads


def write_csv(path: Path, leads: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(leads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    write_csv(args.out, make_leads(args.count, args.seed))
    print(f"wrote {args.count} leads to {args.out}")


if __name__ == "__main__":
    main()
