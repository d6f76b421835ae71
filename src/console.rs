//! The console sink: `-v` and `--debug` lines on standard output (on standard error when
//! the JSON report has standard output), messages and failures on standard error as
//! `rcp: ...`, each printed around the progress bar; and the `--report` stream, text or
//! JSON, to standard output or `--report-file`. A write that fails is said once, at the
//! end, in cp's words, and makes the exit status 1; the copy goes on meanwhile.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rustix::io::Errno;

use cptree::options::{Options, ReportFormat};
use cptree::report::format::{json_summary, report_line, stats_summary, text_summary};
use cptree::report::message;
use cptree::report::place::{self, Placed};
use cptree::report::sink::{End, Output, Sink};
use cptree::{quote, strerror};

/// The progress bar, shared by the thread drawing it and the console printing around it.
pub(crate) type BarSlot = Arc<Mutex<Option<indicatif::ProgressBar>>>;

/// Standard output and error, and the `--report` stream.
pub(crate) struct Console {
    program: String,
    /// `-v` and `--debug` lines go to stderr: the JSON report has standard output.
    lines_to_stderr: bool,
    stdout: io::Stdout,
    /// The first error writing standard output (`-v` lines or the report).
    stdout_error: Option<Errno>,
    /// Standard output was closed when rcp started: every write to it fails.
    closed_stdout: bool,
    report: Option<Report>,
    /// `--stats`: figures on standard error at the end.
    stats: bool,
    bar: BarSlot,
}

/// `--report`: records as text or JSON lines, on standard output or in `--report-file`.
struct Report {
    format: ReportFormat,
    out: Box<dyn Write + Send>,
    /// `--report-file` (`None`: standard output).
    file: Option<PathBuf>,
    /// A report file written under a temporary name, put in place at the end.
    placed: Option<Placed>,
    /// The first error writing `--report-file`.
    error: Option<Errno>,
}

impl Console {
    /// The console for `opts`; fails only if `--report-file` cannot be created.
    pub(crate) fn new(
        program: String,
        opts: &Options,
        bar: BarSlot,
    ) -> Result<Console, (String, io::Error)> {
        let report = match (opts.report, &opts.report_file) {
            (None, _) => None,
            (Some(format), None) => {
                let out = Box::new(io::stdout());
                Some(Report { format, out, file: None, placed: None, error: None })
            }
            (Some(format), Some(path)) => {
                let (file, placed) = place::open(path)
                    .map_err(|e| (format!("cannot create report file {}", quote(path)), e))?;
                let out = Box::new(BufWriter::new(file));
                Some(Report { format, out, file: Some(path.clone()), placed, error: None })
            }
        };
        let json_on_stdout = opts.report == Some(ReportFormat::Json) && opts.report_file.is_none();
        Ok(Console {
            program,
            lines_to_stderr: json_on_stdout,
            stdout: io::stdout(),
            stdout_error: None,
            closed_stdout: false,
            report,
            stats: opts.stats,
            bar,
        })
    }

    /// Standard output was closed when rcp started: every write to it is an error.
    pub(crate) fn stdout_closed(mut self, closed: bool) -> Self {
        self.closed_stdout = closed;
        self
    }

    fn write(&mut self, output: Output) {
        let bar = self.bar.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        match bar {
            Some(bar) => bar.suspend(|| self.write_now(output)),
            None => self.write_now(output),
        }
    }

    fn write_now(&mut self, output: Output) {
        match output {
            Output::Out(text) if self.lines_to_stderr => {
                let _ = cptree::report::line_to(&mut io::stderr().lock(), &text);
            }
            Output::Out(text) => self.line(&text),
            Output::Message(text) | Output::Failed(text) => {
                let _ = self.stdout.lock().flush();
                message(&self.program, &text);
            }
            Output::Record(record) => {
                let Some(report) = &self.report else { return };
                let text = report_line(&record, report.format);
                self.record_line(&text);
            }
            Output::Report(text) => self.record_line(&text),
        }
    }

    /// One line of the report; the first write error is kept for `finish`.
    fn record_line(&mut self, text: &str) {
        let Some(report) = &mut self.report else { return };
        let slot = if report.file.is_some() { &mut report.error } else { &mut self.stdout_error };
        if slot.is_none()
            && let Err(e) = writeln!(report.out, "{text}")
        {
            *slot = Some(Errno::from_io_error(&e).unwrap_or(Errno::IO));
        }
    }

    /// One line on standard output; the first write error is kept for `finish` (and no
    /// more is written after it).
    fn line(&mut self, text: &str) {
        if self.stdout_error.is_some() {
            return;
        }
        if self.closed_stdout {
            return self
                .note_write_error(&io::Error::from_raw_os_error(Errno::BADF.raw_os_error()));
        }
        if let Err(e) = writeln!(self.stdout.lock(), "{text}") {
            self.note_write_error(&e);
        }
    }

    fn note_write_error(&mut self, e: &io::Error) {
        if self.stdout_error.is_none() {
            self.stdout_error = Some(Errno::from_io_error(e).unwrap_or(Errno::IO));
        }
    }

    fn failed_writes(&self) -> bool {
        self.stdout_error.is_some() || self.report.as_ref().is_some_and(|r| r.error.is_some())
    }

    /// The report's last record (the summary, saying `status`), then its flush.
    fn close_report(&mut self, end: &End, status: i32) {
        let Some(format) = self.report.as_ref().map(|r| r.format) else { return };
        let last = match format {
            ReportFormat::Json => json_summary(end.tally, status, end.dry_run).to_string(),
            ReportFormat::Text => text_summary(end.tally, status, end.dry_run),
        };
        self.record_line(&last);
        let Some(report) = &mut self.report else { return };
        if let Err(e) = report.out.flush() {
            let slot =
                if report.file.is_some() { &mut report.error } else { &mut self.stdout_error };
            *slot = slot.or(Some(Errno::from_io_error(&e).unwrap_or(Errno::IO)));
        }
    }
}

impl Sink for Console {
    fn wants_records(&self) -> bool {
        self.report.is_some()
    }

    fn put(&mut self, output: Output) {
        self.write(output);
    }

    fn finish(&mut self, end: &End) -> i32 {
        let mut status = if end.status == 0 && self.failed_writes() { 1 } else { end.status };
        self.close_report(end, status);
        if let Err(e) = self.stdout.lock().flush() {
            self.note_write_error(&e);
        }
        if let Some(errno) = self.stdout_error {
            message(&self.program, &format!("write error: {}", strerror(errno)));
        }
        if let Some(Report { error: Some(errno), file: Some(path), .. }) = &self.report {
            let text = format!("error writing {}: {}", quote(path), strerror(*errno));
            message(&self.program, &text);
        }
        if let Some(Report { placed: Some(placed), error, .. }) = &self.report {
            let committed = match error {
                Some(_) => {
                    placed.discard();
                    Ok(())
                }
                None => placed.commit(),
            };
            if let Err(text) = committed {
                message(&self.program, &text);
                status = status.max(1);
            }
        }
        if status == 0 && self.failed_writes() {
            status = 1;
        }
        if self.stats {
            let summary = stats_summary(end.tally, end.moved, end.dry_run);
            let _ = io::stderr().lock().write_all(summary.as_bytes());
        }
        status
    }
}
