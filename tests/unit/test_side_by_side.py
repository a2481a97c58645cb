"""The report's side-by-side table: one row per service, from the run record alone."""
from chaos.report.side_by_side import service_rows


def verdict(name, valid, **figures):
    return {"checker": name, "valid": valid, "summary": "", "figures": figures}


def test_one_row_per_service_with_what_was_found_not_what_was_expected():
    results = {
        "checkers": {"lost_writes/native": {"service": "native", "expect": "invalid"}, "lost_writes/cp": {"service": "cp"},
                     "linearizable/native": {"service": "native", "expect": "invalid"}, "linearizable/cp": {}},
        "verdicts": [verdict("lost_writes/native", "valid", expected="invalid",
                             by_service={"native": {"acknowledged": 10, "lost": 4}}),
                     verdict("lost_writes/cp", "valid", by_service={"cp": {"acknowledged": 7, "lost": 0}}),
                     verdict("linearizable/native", "valid", expected="invalid"),
                     verdict("availability", "valid", windows=[
                         {"service": "native", "kind": "fault", "availability": 1.0},
                         {"service": "cp", "kind": "fault", "availability": 0.0},
                         {"service": "cp", "kind": "steady", "availability": 1.0}])]}
    rows = service_rows(results)
    assert rows == [{"service": "native", "fault_availability": "100%", "acknowledged": 10, "lost": 4, "linearizable": "no"},
                    {"service": "cp", "fault_availability": "0%", "acknowledged": 7, "lost": 0, "linearizable": "—"}]
    assert service_rows({"checkers": {"lost_writes": {"service": "ap"}}, "verdicts": []}) == []  # nothing to compare
