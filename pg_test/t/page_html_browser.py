#!/usr/bin/python3
"""Loads glassheap.page_html / record_html documents in headless Chromium (selenium with
Debian's chromium-driver) and checks them; called by t/027_page_html.pl.

    page_html_browser.py page FILE.html ITEMS.tsv
    page_html_browser.py record FILE.html

ITEMS.tsv: one line per line pointer, as glassheap.page_items returns it:
lp, lp_flags, xmin, xmax, ctid (tab-separated, empty for NULL).
Prints one line per check: "CHECK <0|1> <name>: <detail>".
"""
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By


def check(ok, name, detail=""):
    print("CHECK %d %s: %s" % (1 if ok else 0, name, detail), flush=True)


def browser():
    o = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1600,1400", "--no-first-run", "--disable-extensions"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)


def errors(d):
    return [e["message"] for e in d.get_log("browser") if e.get("level") == "SEVERE"]


def page(d, html, tsv):
    items = []
    with open(tsv) as f:
        for line in f:
            if not line.strip():
                continue
            lp, flags, xmin, xmax, ctid = line.rstrip("\n").split("\t")
            items.append(dict(lp=lp, lp_flags=flags, xmin=xmin, xmax=xmax, ctid=ctid))
    d.get("file://" + html)
    errs = errors(d)
    check(not errs, "no script errors", "; ".join(errs))
    lps = d.find_elements(By.CSS_SELECTOR, "#page rect.lp")
    check(len(lps) == len(items), "one drawn element per line pointer",
          "%d drawn, %d in page_items" % (len(lps), len(items)))
    # hover every line pointer: the panel shows its fields, its tuple lights up
    bad = []
    for it in items:
        n = it["lp"]
        el = d.find_element(By.ID, "lp-" + n)
        ActionChains(d).move_to_element(el).perform()
        shown = d.find_element(By.ID, "details").get_attribute("data-lp")
        fields = {tr.get_attribute("data-field"): tr.find_element(By.TAG_NAME, "td").text
                  for tr in d.find_elements(By.CSS_SELECTOR, "#details #fields tr")}
        for k in ("lp", "lp_flags", "xmin", "xmax", "ctid"):
            if fields.get(k, None) != it[k]:
                bad.append("lp %s: %s shown %r, page_items %r" % (n, k, fields.get(k), it[k]))
        if shown != n:
            bad.append("lp %s: panel shows lp %s" % (n, shown))
        if it["lp_flags"] == "normal":
            cls = d.find_element(By.ID, "tuple-" + n).get_attribute("class") or ""
            if "hl" not in cls.split():
                bad.append("lp %s: tuple not highlighted (class %r)" % (n, cls))
            if "header.t_infomask" not in fields and "header.flags" not in fields \
                    and not any(k.startswith("header.") for k in fields):
                bad.append("lp %s: no decoded header fields" % n)
    check(not bad, "hovering each line pointer shows its page_items fields (%d line pointers)" % len(items),
          "; ".join(bad[:5]))
    # hovering a tuple shows the same line pointer
    normal = [it for it in items if it["lp_flags"] == "normal"]
    if normal:
        n = normal[-1]["lp"]
        ActionChains(d).move_to_element(d.find_element(By.ID, "tuple-" + n)).perform()
        shown = d.find_element(By.ID, "details").get_attribute("data-lp")
        check(shown == n, "hovering tuple %s shows line pointer %s" % (n, n), "shown %s" % shown)
    errs = errors(d)
    check(not errs, "no script errors after hovering", "; ".join(errs))


def record(d, html):
    d.get("file://" + html)
    errs = errors(d)
    check(not errs, "record: no script errors", "; ".join(errs))
    rows = d.find_elements(By.CSS_SELECTOR, "#fields tr[data-f]")
    spans = d.find_elements(By.CSS_SELECTOR, "#hex span[data-f]")
    check(len(rows) > 0 and len(rows) == len(spans), "record: one byte group per field",
          "%d fields, %d byte groups" % (len(rows), len(spans)))
    ActionChains(d).move_to_element(d.find_element(By.ID, "field-0")).perform()
    cls = d.find_element(By.ID, "bytes-0").get_attribute("class") or ""
    check("hl" in cls.split(), "record: hovering the first field highlights its bytes", cls)
    check(d.find_element(By.CSS_SELECTOR, "#fields tr[data-f='0'] td:nth-child(4)").text == "xl_tot_len",
          "record: the first field is xl_tot_len")


def main():
    d = browser()
    try:
        if sys.argv[1] == "page":
            page(d, sys.argv[2], sys.argv[3])
        else:
            record(d, sys.argv[2])
    finally:
        d.quit()


if __name__ == "__main__":
    main()
