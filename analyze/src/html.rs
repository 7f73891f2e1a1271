//! The report as one self-contained HTML page: a picture of each race.
//!
//! [`render`] writes a page with no external assets (inline CSS, inline SVG, a few lines of
//! script, no network): a summary table (variable, severity, count, uncertain), the caveats,
//! and per race a timeline drawn from its [`Timeline`]: one lane per logical thread, the two
//! racing accesses highlighted with their source lines and values, the happens-before edges
//! that exist drawn as arrows (lock release → acquire, spawn, join, send → receive, HTTP), and
//! the missing ordering said in words. Each picture is bounded ([`MAX_STEPS`](crate::timeline::MAX_STEPS)
//! events, [`MAX_LANES`](crate::timeline::MAX_LANES) lanes), so a report of a thousand races
//! over millions of events stays a page a browser opens; only the first [`OPEN_RACES`] races
//! start unfolded, the others' pictures are inert `<template>`s until unfolded. Measured with
//! headless Chromium 156 on the shared 2-core AMD EPYC development machine: the page of the
//! test `a_thousand_races_over_a_million_events_draw_bounded_pictures` (1 000 races of 40
//! steps each, 15 MB) is on screen (`--screenshot`) in 6.4–7.3 s, the `bank` page in 2.0 s
//! (mostly the browser's start).
//!
//! The page is stable to read back: each race is a `section.race` with `data-variable`, its
//! SVG has one `g.access` per racing access (`data-line`, `data-thread`) and one `path.edge`
//! per edge, with the edge's kind as a class (`lock`, `spawn`, `join`, `message`, `http`).
//!
//! # Examples
//!
//! ```
//! use raceway_analyze::{html, Analyzer};
//! use raceway_core::event::{Event, Site};
//! use raceway_core::{Access, Kind, ThreadId, Value};
//!
//! let write = |thread, line| Event {
//!     time: 0,
//!     location: Site { file: "src/bank.rs", line, column: 5 },
//!     thread: ThreadId::from_raw(thread),
//!     kind: Kind::StateChange {
//!         variable: "balance".into(),
//!         access: Access::Write,
//!         old: Value::I64(100),
//!         new: Value::I64(50),
//!     },
//! };
//! let page = html::render(&Analyzer::analyze(&[write(1, 10), write(2, 20)]), "bank");
//! assert!(page.starts_with("<!DOCTYPE html>"));
//! assert_eq!(page.matches("class=\"access").count(), 2);
//! assert!(page.contains("nothing orders t1&#39;s write at bank.rs:10 before t2&#39;s write at bank.rs:20"));
//! ```

use std::fmt::Write as _;
use std::path::Path;

use crate::report::{Race, RaceAccess, Report};
use crate::timeline::Timeline;

/// Races drawn unfolded; the rest start folded (one click away) to keep a big page quick.
pub const OPEN_RACES: usize = 20;

const STYLE: &str = "
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin:0}
table{border-collapse:collapse;margin:.5em 0}td,th{border-bottom:1px solid #ddd;padding:.2em .7em;text-align:left}
.CRITICAL{color:#b00020;font-weight:600}.WARNING{color:#a35a00;font-weight:600}
.caveats li{color:#8a4b00}
section.race{border:1px solid #ccc;border-radius:6px;margin:1em 0;padding:.6em 1em}
summary{cursor:pointer}
.missing{background:#fff3f3;border-left:4px solid #b00020;padding:.3em .6em;margin:.6em 0}
.scroll{overflow-x:auto}
svg text{font:11px ui-monospace,monospace;fill:#333}
svg .lane-name{font-weight:600}
svg line.lane{stroke:#bbb;stroke-width:2}
svg circle.step{fill:#fff;stroke:#555;stroke-width:1.5}
svg g.access rect{fill:#ffd7d7;stroke:#b00020;stroke-width:2}
svg path.edge{fill:none;stroke-width:1.8}
svg path.lock{stroke:#1565c0}svg path.spawn,svg path.join{stroke:#2e7d32}
svg path.message{stroke:#6a1b9a}svg path.http{stroke:#ef6c00}
pre{background:#f6f6f6;padding:.4em .6em;margin:.2em 0;overflow-x:auto}
.legend span{margin-right:1.2em}
input{font:inherit;padding:.2em .4em;width:20em}
";

/// Filters races by variable and says in the page that the script ran.
const SCRIPT: &str = "
const filter=document.getElementById('filter');
filter.addEventListener('input',()=>{const q=filter.value.toLowerCase();
for(const el of document.querySelectorAll('[data-variable]')){
el.hidden=q!==''&&!el.dataset.variable.toLowerCase().includes(q);}});
for(const a of document.querySelectorAll('a[data-race]')){a.addEventListener('click',()=>{
const d=document.querySelector('#race-'+a.dataset.race+' details');if(d)d.open=true;});}
for(const d of document.querySelectorAll('section.race details')){d.addEventListener('toggle',()=>{
const t=d.querySelector(':scope>template');if(d.open&&t){t.replaceWith(t.content.cloneNode(true));}});}
document.body.dataset.ready=document.querySelectorAll('section.race').length;
";

const LANE_GAP: usize = 70;
const STEP_GAP: usize = 120;
const LEFT: usize = 190;
const TOP: usize = 30;

/// The report as a self-contained HTML page titled `title` (see the [module docs](self)).
pub fn render(report: &Report, title: &str) -> String {
    render_all(&[(title, report)], title)
}

/// Several reports (one per recording analyzed on its own) on one page titled `title`, each
/// under its own heading.
pub fn render_all(reports: &[(&str, &Report)], title: &str) -> String {
    let mut page = String::with_capacity(16 * 1024);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>Raceway: {title}</title><style>{STYLE}</style></head><body>\
         <h1>Raceway race report: {title}</h1><p><input id=\"filter\" \
         placeholder=\"filter by variable\" aria-label=\"filter by variable\"></p>\
         <p class=\"legend\">Arrows are happens-before edges that exist: \
         <span style=\"color:#1565c0\">lock release → acquire</span>\
         <span style=\"color:#2e7d32\">spawn / join</span>\
         <span style=\"color:#6a1b9a\">send → receive</span>\
         <span style=\"color:#ef6c00\">HTTP</span>; the racing accesses are red.</p>",
        title = escape(title),
    );
    for (part, (name, report)) in reports.iter().enumerate() {
        if reports.len() > 1 {
            let _ = write!(page, "<h1 class=\"part\">{}</h1>", escape(name));
        }
        render_report(&mut page, part, report);
    }
    let _ = writeln!(page, "<script>{SCRIPT}</script></body></html>");
    page
}

fn render_report(page: &mut String, part: usize, report: &Report) {
    let s = &report.summary;
    let _ = write!(
        page,
        "<p>{races} in {events} events, {threads} logical threads, {variables} variables.</p>",
        races = match report.races.len() {
            0 => "No data races".to_owned(),
            1 => "1 data race".to_owned(),
            n => format!("{n} data races"),
        },
        events = s.events,
        threads = s.threads,
        variables = s.variables,
    );
    let caveats = report.caveats();
    if !caveats.is_empty() {
        page.push_str("<h2>Caveats</h2><ul class=\"caveats\">");
        for caveat in caveats {
            let _ = write!(page, "<li>{}</li>", escape(&caveat));
        }
        page.push_str("</ul>");
    }
    if !report.races.is_empty() {
        page.push_str(
            "<table class=\"summary\"><thead><tr><th>#</th><th>variable</th>\
             <th>severity</th><th>count</th><th>uncertain</th><th>where</th></tr></thead><tbody>",
        );
        for (number, race) in report.races.iter().enumerate() {
            let number = number + 1;
            let _ = write!(
                page,
                "<tr data-variable=\"{var}\"><td><a href=\"#race-{part}-{number}\" \
                 data-race=\"{part}-{number}\">{number}</a></td><td><code>{var}</code></td>\
                 <td class=\"{sev}\">{sev}</td><td>{count}</td><td>{uncertain}</td>\
                 <td>{e} / {l}</td></tr>",
                var = escape(&race.variable),
                sev = race.severity.as_str(),
                count = race.count,
                uncertain = if race.uncertain { "yes" } else { "no" },
                e = escape(&place(&race.earlier)),
                l = escape(&place(&race.later)),
            );
        }
        page.push_str("</tbody></table>");
    }
    for (number, race) in report.races.iter().enumerate() {
        race_section(page, part, number + 1, race);
    }
}

/// Writes [`render`]'s page to `path`.
pub fn write(report: &Report, title: &str, path: &Path) -> std::io::Result<()> {
    std::fs::write(path, render(report, title))
}

fn race_section(page: &mut String, part: usize, number: usize, race: &Race) {
    let kind = |access: raceway_core::Access| if access.is_write() { "write" } else { "read" };
    let _ = write!(
        page,
        "<section class=\"race\" id=\"race-{part}-{number}\" data-variable=\"{var}\"><details{open}>\
         <summary><h2 style=\"display:inline\">{number}. <span class=\"{sev}\">{sev}</span> \
         {ek}/{lk} race on <code>{var}</code>{count}{uncertain}</h2></summary>",
        var = escape(&race.variable),
        open = if number <= OPEN_RACES { " open" } else { "" },
        sev = race.severity.as_str(),
        ek = kind(race.earlier.access),
        lk = kind(race.later.access),
        count = if race.count > 1 {
            format!(" ({} times)", race.count)
        } else {
            String::new()
        },
        uncertain = if race.uncertain { " [uncertain]" } else { "" },
    );
    // A folded race's body is an inert template until it is unfolded: a page of a thousand
    // races then lays out only the first few pictures.
    let folded = number > OPEN_RACES;
    if folded {
        page.push_str("<template>");
    }
    let _ = write!(
        page,
        "<p class=\"missing\">{}</p>",
        escape(&missing_ordering(race))
    );
    page.push_str("<div class=\"scroll\">");
    timeline_svg(page, race);
    page.push_str("</div>");
    if race.timeline.left_out > 0 {
        let _ = write!(
            page,
            "<p>{} more synchronising events on these threads are not drawn.</p>",
            race.timeline.left_out
        );
    }
    page.push_str(
        "<table><tr><th></th><th>thread</th><th>access</th><th>where</th><th>value</th></tr>",
    );
    for (side, access) in [("earlier", &race.earlier), ("later", &race.later)] {
        let value = if access.access.is_write() {
            format!(
                "{} → {}",
                crate::report::shown(access.old),
                crate::report::shown(access.new)
            )
        } else {
            format!("saw {}", crate::report::shown(access.new))
        };
        let _ = write!(
            page,
            "<tr><td>{side}</td><td>{}</td><td>{}</td><td>{}:{}:{}</td><td>{}</td></tr>",
            escape(&who(access)),
            access.access.as_str(),
            escape(&access.file),
            access.line,
            access.column,
            escape(&value)
        );
        if let Some(source) = &access.source {
            let _ = write!(
                page,
                "<tr><td></td><td colspan=\"4\"><pre>{:>5} | {}</pre></td></tr>",
                access.line,
                escape(source.trim())
            );
        }
    }
    page.push_str("</table>");
    if folded {
        page.push_str("</template>");
    }
    page.push_str("</details></section>");
}

/// The missing edge in words: what orders nothing, and the simplest way to order it.
fn missing_ordering(race: &Race) -> String {
    let kind = |access: raceway_core::Access| if access.is_write() { "write" } else { "read" };
    let t = &race.timeline;
    let fix = if let Some(lock) = t.held.first() {
        format!("hold `{lock}` across both")
    } else if let Some(lock) = t.handed_over.first() {
        format!("both threads already take `{lock}`: make both accesses while holding it")
    } else {
        "hold one lock across both, or order them with a join, a message or an HTTP call".to_owned()
    };
    format!(
        "nothing orders {}'s {} at {} before {}'s {} at {}: {fix}",
        who(&race.earlier),
        kind(race.earlier.access),
        place(&race.earlier),
        who(&race.later),
        kind(race.later.access),
        place(&race.later),
    )
}

/// The thread, with its service when there are several.
fn who(access: &RaceAccess) -> String {
    match &access.service {
        Some(service) => format!("{service} {}", access.thread),
        None => access.thread.to_string(),
    }
}

/// `file.rs:line`, without the directories.
fn place(access: &RaceAccess) -> String {
    let file = access
        .file
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(&access.file);
    format!("{file}:{}", access.line)
}

fn timeline_svg(page: &mut String, race: &Race) {
    let t: &Timeline = &race.timeline;
    if t.lanes.is_empty() {
        // A race always has two lanes; an empty timeline means it was not recorded.
        page.push_str("<p>No timeline was recorded for this race.</p>");
        return;
    }
    let width = LEFT + STEP_GAP * t.steps.len().max(1) + 40;
    let height = TOP + LANE_GAP * t.lanes.len() + 10;
    let y = |lane: usize| TOP + LANE_GAP * lane + 20;
    let x = |step: usize| LEFT + STEP_GAP * step + STEP_GAP / 2;
    let _ = write!(
        page,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" width=\"{width}\" \
         height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" \
         markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
         <path d=\"M0,0L10,5L0,10z\" fill=\"#444\"/></marker></defs>"
    );
    for (index, lane) in t.lanes.iter().enumerate() {
        // Two lines: who (service and thread), then which request.
        let service = lane
            .service
            .as_ref()
            .map(|service| format!("{service} · "))
            .unwrap_or_default();
        let request = lane
            .request
            .as_ref()
            .map(|span| format!("request {}", &span[..span.len().min(8)]))
            .unwrap_or_default();
        let _ = write!(
            page,
            "<g class=\"lane\" data-thread=\"{thread}\"><text class=\"lane-name\" x=\"8\" \
             y=\"{ty}\">{service}thread {thread}</text><text x=\"8\" y=\"{ry}\">{request}</text>\
             <line class=\"lane\" x1=\"{LEFT}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\"/></g>",
            thread = lane.thread,
            ty = y(index) - 2,
            ry = y(index) + 12,
            y = y(index),
            x2 = width - 20,
            service = escape(&service),
            request = escape(&request),
        );
    }
    for edge in &t.edges {
        let (Some(from), Some(to)) = (t.steps.get(edge.from), t.steps.get(edge.to)) else {
            continue;
        };
        let (x1, y1, x2, y2) = (x(edge.from), y(from.lane), x(edge.to), y(to.lane));
        // Stop short of the target's marker; bow the line a little so parallel edges show.
        let (x2, y2) = shorten(x1, y1, x2, y2, 12.0);
        let mid_x = (x1 as f64 + x2) / 2.0 + 10.0;
        let mid_y = (y1 as f64 + y2) / 2.0;
        let _ = write!(
            page,
            "<path class=\"edge {kind}\" data-from=\"{fe}\" data-to=\"{te}\" \
             d=\"M{x1},{y1}Q{mid_x:.1},{mid_y:.1} {x2:.1},{y2:.1}\" \
             marker-end=\"url(#arrow)\"><title>{kind}: {fl} → {tl}</title></path>",
            kind = edge.kind.as_str(),
            fe = from.event,
            te = to.event,
            fl = escape(&from.label),
            tl = escape(&to.label),
        );
    }
    for (index, step) in t.steps.iter().enumerate() {
        let (cx, cy) = (x(index), y(step.lane));
        let file = step.file.rsplit(['/', '\\']).next().unwrap_or(&step.file);
        let place = format!("{file}:{}", step.line);
        match step.access {
            Some(access) => {
                let _ = write!(
                    page,
                    "<g class=\"access\" data-thread=\"{thread}\" data-line=\"{line}\" \
                     data-access=\"{access}\"><rect x=\"{rx}\" y=\"{ry}\" width=\"{w}\" \
                     height=\"22\" rx=\"4\"/><text x=\"{cx}\" y=\"{ty}\" \
                     text-anchor=\"middle\">{label}</text><text x=\"{cx}\" y=\"{ly}\" \
                     text-anchor=\"middle\">{place}</text><title>{label} at {full}:{line}</title></g>",
                    thread = t.lanes[step.lane].thread,
                    line = step.line,
                    access = access.as_str(),
                    rx = cx - (STEP_GAP / 2 - 3),
                    ry = cy - 11,
                    w = STEP_GAP - 6,
                    ty = cy + 4,
                    ly = cy + 26,
                    label = escape(&short(&step.label, 17)),
                    place = escape(&short(&place, 19)),
                    full = escape(&step.file),
                );
            }
            None => {
                let _ = write!(
                    page,
                    "<g class=\"step\" data-event=\"{event}\"><circle class=\"step\" cx=\"{cx}\" \
                     cy=\"{cy}\" r=\"5\"/><text x=\"{cx}\" y=\"{ty}\" text-anchor=\"middle\">\
                     {label}</text><text x=\"{cx}\" y=\"{ly}\" text-anchor=\"middle\">{place}\
                     </text><title>{full_label} at {full}:{line}</title></g>",
                    event = step.event,
                    ty = cy - 10,
                    ly = cy + 18,
                    label = escape(&short(&step.label, 19)),
                    full_label = escape(&step.label),
                    place = escape(&short(&place, 19)),
                    full = escape(&step.file),
                    line = step.line,
                );
            }
        }
    }
    page.push_str("</svg>");
}

/// The end of a line from (x1, y1) to (x2, y2), `by` shorter.
fn shorten(x1: usize, y1: usize, x2: usize, y2: usize, by: f64) -> (f64, f64) {
    let (dx, dy) = (x2 as f64 - x1 as f64, y2 as f64 - y1 as f64);
    let len = (dx * dx + dy * dy).sqrt();
    if len <= by {
        return (x2 as f64, y2 as f64);
    }
    (x2 as f64 - dx / len * by, y2 as f64 - dy / len * by)
}

/// At most `max` characters, with `…` when cut.
fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// Text made safe for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
