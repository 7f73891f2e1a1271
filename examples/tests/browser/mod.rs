//! Headless Chromium for the HTML report tests: renders a page, returns the DOM after its
//! script ran, and takes a screenshot.
//!
//! `cargo test --workspace` must pass on a machine without a browser, so with no Chromium the
//! tests say "skipped: no chromium" and pass, unless `RACEWAY_REQUIRE_BROWSER=1` (CI installs
//! Debian's `chromium` and sets it), in which case a missing browser fails them.
#![allow(dead_code)] // Each test file uses a different part.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The browser binary: `RACEWAY_CHROMIUM` if set, else the first of the usual names on `PATH`.
/// `None` means the test should skip (or fail, under `RACEWAY_REQUIRE_BROWSER=1`).
pub fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("RACEWAY_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path).find_map(|dir| {
                ["chromium", "chromium-browser", "google-chrome"]
                    .iter()
                    .map(|name| dir.join(name))
                    .find(|candidate| candidate.is_file())
            })
        });
    if found.is_none() {
        assert!(
            std::env::var("RACEWAY_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "RACEWAY_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install -y chromium)"
        );
        eprintln!("skipped: no chromium");
    }
    found
}

/// A scratch directory for one test, removed and made again.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("raceway-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the temp directory is writable");
    dir
}

/// Runs the browser headless on `page` with `args`; gives up (and fails) after two minutes.
fn run(browser: &Path, page: &Path, profile: &Path, args: &[&str]) -> Output {
    let child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the browser starts");
    let mut child = child;
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("the browser can be waited for") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the browser did not finish rendering {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = Output {
        status,
        stdout: stdout.join().expect("the reader does not panic"),
        stderr: stderr.join().expect("the reader does not panic"),
    };
    assert!(
        output.status.success(),
        "the browser failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The page's DOM after its script ran (`--dump-dom`).
pub fn dom(browser: &Path, page: &Path) -> String {
    let profile = page.with_extension("profile-dom");
    let output = run(browser, page, &profile, &["--dump-dom"]);
    String::from_utf8(output.stdout).expect("the DOM is UTF-8")
}

/// A PNG screenshot of the page, `width` by `height` pixels, written to `png`.
pub fn screenshot(browser: &Path, page: &Path, png: &Path, width: u32, height: u32) {
    let profile = page.with_extension("profile-png");
    run(
        browser,
        page,
        &profile,
        &[
            &format!("--screenshot={}", png.display()),
            &format!("--window-size={width},{height}"),
        ],
    );
    let bytes = std::fs::read(png).expect("the browser wrote the screenshot");
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        png.display()
    );
}

/// The elements of `dom` that start with `open` (e.g. `<g class="access"`), each up to the
/// end of its start tag.
pub fn tags<'a>(dom: &'a str, open: &str) -> Vec<&'a str> {
    dom.match_indices(open)
        .map(|(at, _)| {
            let tag = &dom[at..];
            &tag[..tag.find('>').map_or(tag.len(), |end| end + 1)]
        })
        .collect()
}

/// The value of `name` in a start tag.
pub fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}
