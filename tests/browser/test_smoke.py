from tests.browser.conftest import screenshot


def test_portfolio_renders(console):
    console.wait_for_element("#kpi-value-arr", timeout=20)
    console.wait_for_element("#portfolio-band-mix .trace.bars", timeout=20)
    screenshot(console, "portfolio")
    assert console.get_logs() == []
