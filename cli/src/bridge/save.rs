//! `--save`: the capture file, written as the bytes arrive.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use raceway_transport_uart::capture;

use crate::stream::Format;

/// The capture file `--save` writes: the capture header, then the stream's bytes verbatim.
pub(super) struct Save {
    pub(super) path: PathBuf,
    out: Option<BufWriter<File>>,
    /// Input bytes held back while they might still be the input's own capture header.
    pending: Vec<u8>,
    /// Whether the input's format (and so what to strip) is known.
    decided: bool,
    /// A write error not yet told.
    pub(super) failure: Option<String>,
}

impl Save {
    pub(super) fn create(path: &Path) -> Result<Self, String> {
        let file = File::create(path)
            .map_err(|error| format!("cannot create the capture {}: {error}", path.display()))?;
        let mut out = BufWriter::new(file);
        capture::write_header(&mut out)
            .map_err(|error| format!("cannot write the capture {}: {error}", path.display()))?;
        Ok(Save {
            path: path.to_owned(),
            out: Some(out),
            pending: Vec::new(),
            decided: false,
            failure: None,
        })
    }

    /// Saves `chunk`; `format` is what the input turned out to be so far.
    pub(super) fn write(&mut self, chunk: &[u8], format: Option<Format>) {
        let Some(format) = format else {
            self.pending.extend_from_slice(chunk); // under a capture header's length
            return;
        };
        let mut pending = std::mem::take(&mut self.pending);
        let mut chunk = chunk;
        if !self.decided {
            self.decided = true;
            if format == Format::Capture {
                // The input's header is already written: skip it.
                let in_chunk = capture::HEADER.len() - pending.len();
                pending.clear();
                chunk = &chunk[in_chunk.min(chunk.len())..];
            }
        }
        let written = self.out.as_mut().map(|out| {
            out.write_all(&pending)?;
            out.write_all(chunk)
        });
        self.check(written);
    }

    pub(super) fn flush(&mut self) {
        let flushed = self.out.as_mut().map(Write::flush);
        self.check(flushed);
    }

    pub(super) fn check(&mut self, result: Option<io::Result<()>>) {
        if let Some(Err(error)) = result {
            self.out = None;
            self.failure = Some(format!(
                "cannot write the capture {}: {error}; no longer saving",
                self.path.display()
            ));
        }
    }
}
