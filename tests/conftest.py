"""Shared pytest configuration for tests/."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "browser: drives JupyterLab in headless Chromium (needs /usr/bin/chromium "
        "and playwright; skipped without them, failed when CI=true)",
    )
