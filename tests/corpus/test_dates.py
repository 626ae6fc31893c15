from __future__ import annotations

import pytest

from search.corpus._dates import parse_date, parse_date_line, split_lead_dateline


@pytest.mark.parametrize("line, expected", [
    ("30 November, 2021", ("2021-11-30", None)),
    ("Georgetown, Guyana, 24 September2021", ("2021-09-24", "Georgetown, Guyana")),
    ("Georgetown, Guyana 23 August 2021:", ("2021-08-23", "Georgetown, Guyana")),
    ("IOM and CARICOM IMPACS enter MoU to collaborate", None),
    ("The meeting closed on 3 May 2021.", None),
    ("Kingston, Monday 3 May 2021", ("2021-05-03", "Kingston")),  # one place the gazetteer knows
    ("Weekly Update May 5, 2021", None),  # a title holding a date: one unknown name is no place
    ("5 May 2021 Board Meeting", None),  # a dateline ends with its date
    ("GENEVA, 12 March 2021", ("2021-03-12", "GENEVA")),  # any name a comma sets off from its date
    ("Tapachula, 3 June 2021", ("2021-06-03", "Tapachula")),
    ("Tegucigalpa – 3 June 2021", ("2021-06-03", "Tegucigalpa")),  # or a dash
    ("Guatemala City, Guatemala – 3 June 2021", ("2021-06-03", "Guatemala City, Guatemala")),
    ("Port-au-Prince, 3 June 2021", ("2021-06-03", "Port-au-Prince")),
])
def test_date_lines(line, expected):
    assert parse_date_line(line) == expected


@pytest.mark.parametrize("body, expected", [
    ("Georgetown, Guyana, 13 August 2020 - More research", ("2020-08-13", "Georgetown, Guyana", "More research")),
    ("Santo Domingo, Thursday, August 19, 2020- To measure", ("2020-08-19", "Santo Domingo", "To measure")),
    ("August 27, Georgetown - The IOM", (None, "Georgetown", "The IOM")),
    ("COVID-19 - a pandemic", (None, None, "COVID-19 - a pandemic")),
    ("San José - 57% of those", (None, "San José", "57% of those")),
    ("PANAMA CITY - The IOM", (None, "PANAMA CITY", "The IOM")),
    ("Panama City, Panama - The IOM", (None, "Panama City, Panama", "The IOM")),
    ("The Director General - speaking in Geneva - said the plan works.",
     (None, None, "The Director General - speaking in Geneva - said the plan works.")),
    ("Migrant Workers - A new study", (None, None, "Migrant Workers - A new study")),
    ("Geneva, 12 March 2021 – IOM said", ("2021-03-12", "Geneva", "IOM said")),
])
def test_body_datelines(body, expected):
    assert split_lead_dateline(body) == expected


@pytest.mark.parametrize("value, expected", [
    ("2021-11-30", "2021-11-30"), ("26-FEB-1987 15:01:01.79", "1987-02-26"), ("30 de noviembre de 2021", "2021-11-30"),
    ("31 February 2021", None), ("", None), ("soon", None),
])
def test_free_form_dates(value, expected):
    assert parse_date(value) == expected
