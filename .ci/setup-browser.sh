# Sourced by .ci/run before the tests: Debian's chromium for tests/web/test_browser.py.
# Playwright drives it through executable_path (no `playwright install`, which downloads a browser).
# Installs it with apt-get when /usr/bin/chromium is missing (root only; `apt-get update` once);
# exports DOZOR_CHROMIUM for the tests and DOZOR_BROWSER_REQUIRED=1 so that in CI a missing browser
# fails the browser tests instead of skipping them.
DOZOR_CHROMIUM_PATH=/usr/bin/chromium
if [ ! -x "$DOZOR_CHROMIUM_PATH" ]; then
    if [ "$(id -u)" = "0" ]; then
        echo "ci: installing Debian's chromium for the browser tests"
        apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
            || echo "ci: apt-get could not install chromium"
    else
        echo "ci: $DOZOR_CHROMIUM_PATH is missing and this is not root: the browser tests cannot run"
    fi
fi
if [ -x "$DOZOR_CHROMIUM_PATH" ]; then
    export DOZOR_CHROMIUM="$DOZOR_CHROMIUM_PATH"
fi
if [ "${CI:-}" = "true" ]; then
    export DOZOR_BROWSER_REQUIRED=1
fi
