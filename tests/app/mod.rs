//! The web app (`app/`) in a real headless Chromium against the whole stack, as the README's
//! run command starts it.

mod browser;
