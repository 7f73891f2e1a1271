//! A race between a main loop and a timer interrupt, caught by Raceway under QEMU.
//!
//! The main loop and the SysTick handler both update two counters:
//!
//! * `racy` with a plain load, some work, then a store, and nothing stopping the interrupt in
//!   between: a lost-update race (the atomics are only there to keep the Rust sound; the
//!   load-then-store is not atomic as a whole).
//! * `guarded` the same way, but inside `critical_section::with` (interrupts masked), recorded
//!   as a [`LockKind::CriticalSection`](raceway_core::LockKind) lock: acquire right after
//!   entering, release right before leaving. No race.
//!
//! The main loop and the handler are two logical threads of one static `Recorder`. Events go
//! into a static ring from both; the main loop drains the ring and streams the frames over UART0
//! (data register at `0x4000_C000`). After a bounded run the program prints a summary through
//! semihosting and exits QEMU.
//!
//! Build without the `raceway` feature to measure the program alone: the recording calls
//! compile to nothing and UART0 stays unused.
#![no_std]
#![no_main]

use core::cell::Cell;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, hprintln};
use critical_section::Mutex;
use panic_semihosting as _;

/// Updated by both contexts with no protection.
static RACY: AtomicU32 = AtomicU32::new(0);
/// Updated by both contexts inside a critical section.
static GUARDED: Mutex<Cell<u32>> = Mutex::new(Cell::new(0));
/// SysTick interrupts so far: the time source (one tick per millisecond at 12 MHz).
static TICKS: AtomicU32 = AtomicU32::new(0);

/// Core clock cycles between SysTick interrupts (QEMU's lm3s6965evb runs at 12 MHz).
const SYSTICK_RELOAD: u32 = 12_000;
/// The run stops after this many main-loop iterations, once the handler has run often enough.
const MAIN_ITERATIONS: u32 = 300;
const MIN_TICKS: u32 = 20;
/// A hard bound in case the timer never fires.
const MAX_ITERATIONS: u32 = 200_000;

/// Which logical thread is recording.
#[derive(Clone, Copy)]
enum Context {
    Main,
    SysTick,
}

#[entry]
fn main() -> ! {
    let mut core = cortex_m::Peripherals::take().expect("taken once, at start");
    let mut drain = trace::Drain::start();

    core.SYST.set_clock_source(SystClkSource::Core);
    core.SYST.set_reload(SYSTICK_RELOAD - 1);
    core.SYST.clear_current();
    core.SYST.enable_interrupt();
    core.SYST.enable_counter();

    let mut iterations = 0;
    while iterations < MAX_ITERATIONS
        && (iterations < MAIN_ITERATIONS || TICKS.load(Ordering::Relaxed) < MIN_TICKS)
    {
        update_racy(Context::Main);
        update_guarded(Context::Main);
        drain.run();
        iterations += 1;
        // Let time pass so the interrupt lands at different points of the loop.
        cortex_m::asm::delay(1_000);
    }
    core.SYST.disable_interrupt();
    drain.run();

    let ticks = TICKS.load(Ordering::Relaxed);
    let racy = RACY.load(Ordering::Relaxed);
    let guarded = critical_section::with(|cs| GUARDED.borrow(cs).get());
    let expected = iterations + ticks;
    hprintln!(
        "firmware-qemu: {} main iterations, {} SysTick interrupts; guarded = {} (expected {}), racy = {} ({} updates lost)",
        iterations,
        ticks,
        guarded,
        expected,
        racy,
        expected - racy
    );
    drain.report();
    let code = if ticks >= MIN_TICKS && guarded == expected {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    };
    debug::exit(code);
    loop {
        cortex_m::asm::wfi();
    }
}

#[exception]
fn SysTick() {
    TICKS.fetch_add(1, Ordering::Relaxed);
    update_racy(Context::SysTick);
    update_guarded(Context::SysTick);
}

/// Read, work, write back: the interrupt may update `RACY` in between, and that update is lost.
#[inline(never)]
fn update_racy(context: Context) {
    let old = RACY.load(Ordering::Relaxed);
    trace::read("racy", context, old);
    cortex_m::asm::delay(2_000);
    RACY.store(old + 1, Ordering::Relaxed);
    trace::write("racy", context, old, old + 1);
}

/// The same update with interrupts masked, recorded as a critical-section lock.
#[inline(never)]
fn update_guarded(context: Context) {
    critical_section::with(|cs| {
        trace::acquire(context);
        let cell = GUARDED.borrow(cs);
        let old = cell.get();
        trace::read("guarded", context, old);
        cell.set(old + 1);
        trace::write("guarded", context, old, old + 1);
        trace::release(context);
    });
}

#[cfg(feature = "raceway")]
mod trace {
    //! Recording through Raceway's core and streaming over UART0.

    use core::convert::Infallible;
    use core::sync::atomic::{AtomicU32, Ordering};

    use raceway_core::event::{Access, Kind, LockKind, ThreadId, Value};
    use raceway_core::recorder::{Recorder, TimeSource};
    use raceway_core::ring::{Consumer, Ring, Slot};
    use raceway_core::Name;
    use raceway_transport_uart::{FrameEncoderConfig, UartTransport};

    use super::{Context, TICKS};

    /// A unit struct rather than a function pointer, so the recorder's `static` is all zeros
    /// and lives in `.bss`, costing no flash.
    static RECORDER: Recorder<[Slot; 64], Ticks> = Recorder::new(Ring::new(), Ticks);
    /// The logical threads' raw ids, set once before the timer starts.
    static MAIN: AtomicU32 = AtomicU32::new(0);
    static SYSTICK: AtomicU32 = AtomicU32::new(0);

    const LOCK: &str = "critical_section";

    /// Raceway's time source: the SysTick counter.
    struct Ticks;

    impl TimeSource for Ticks {
        fn now(&self) -> u64 {
            u64::from(TICKS.load(Ordering::Relaxed))
        }
    }

    fn thread(context: Context) -> ThreadId {
        match context {
            Context::Main => ThreadId::from_raw(MAIN.load(Ordering::Relaxed)),
            Context::SysTick => ThreadId::from_raw(SYSTICK.load(Ordering::Relaxed)),
        }
    }

    #[track_caller]
    pub(super) fn read(variable: &'static str, context: Context, value: u32) {
        RECORDER.record(
            thread(context),
            Kind::StateChange {
                variable: Name::new(variable),
                access: Access::Read,
                old: Value::None,
                new: Value::from(value),
            },
        );
    }

    #[track_caller]
    pub(super) fn write(variable: &'static str, context: Context, old: u32, new: u32) {
        RECORDER.record(
            thread(context),
            Kind::StateChange {
                variable: Name::new(variable),
                access: Access::Write,
                old: Value::from(old),
                new: Value::from(new),
            },
        );
    }

    #[track_caller]
    pub(super) fn acquire(context: Context) {
        RECORDER.record(
            thread(context),
            Kind::LockAcquire {
                lock: Name::new(LOCK),
                lock_kind: LockKind::CriticalSection,
            },
        );
    }

    #[track_caller]
    pub(super) fn release(context: Context) {
        RECORDER.record(
            thread(context),
            Kind::LockRelease {
                lock: Name::new(LOCK),
                lock_kind: LockKind::CriticalSection,
            },
        );
    }

    /// UART0 of the LM3S6965 (a PL011), transmit side, polled.
    pub(super) struct Uart0;

    const UART0: usize = 0x4000_C000;
    const DR: usize = UART0;
    const FR: usize = UART0 + 0x018;
    const IBRD: usize = UART0 + 0x024;
    const FBRD: usize = UART0 + 0x028;
    const LCRH: usize = UART0 + 0x02C;
    const CTL: usize = UART0 + 0x030;
    const FR_TXFF: u32 = 1 << 5;
    const RCGC1: usize = 0x400F_E104;

    impl Uart0 {
        /// Clocks and enables UART0 at 115 200 baud, 8N1, FIFOs on. (QEMU transmits without
        /// this, real silicon does not.)
        fn init() -> Self {
            // SAFETY: these are the LM3S6965's memory-mapped SYSCTL and UART0 registers, used
            // only here and by `write` below, from the main loop alone.
            unsafe {
                let rcgc1 = core::ptr::read_volatile(RCGC1 as *const u32);
                core::ptr::write_volatile(RCGC1 as *mut u32, rcgc1 | 1);
                core::ptr::write_volatile(CTL as *mut u32, 0);
                // 12 MHz / (16 × 115 200) = 6.51: integer 6, fraction 0.51 × 64 ≈ 33.
                core::ptr::write_volatile(IBRD as *mut u32, 6);
                core::ptr::write_volatile(FBRD as *mut u32, 33);
                core::ptr::write_volatile(LCRH as *mut u32, 0x70); // 8 bits, FIFOs on
                core::ptr::write_volatile(CTL as *mut u32, 0x301); // UARTEN | TXE | RXE
            }
            Uart0
        }
    }

    impl embedded_io::ErrorType for Uart0 {
        type Error = Infallible;
    }

    impl embedded_io::Write for Uart0 {
        fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
            for &byte in buf {
                // SAFETY: UART0's flag and data registers; only the main loop touches them.
                unsafe {
                    while core::ptr::read_volatile(FR as *const u32) & FR_TXFF != 0 {}
                    core::ptr::write_volatile(DR as *mut u32, u32::from(byte));
                }
            }
            Ok(buf.len())
        }

        fn flush(&mut self) -> Result<(), Infallible> {
            Ok(())
        }
    }

    /// The ring's consumer and the UART transport, owned by the main loop.
    pub(super) struct Drain {
        consumer: Consumer<'static, [Slot; 64]>,
        uart: UartTransport<Uart0, 16>,
    }

    impl Drain {
        /// Names the two logical threads and takes the consumer side. Call before the timer
        /// starts.
        pub(super) fn start() -> Self {
            MAIN.store(RECORDER.new_thread().to_raw(), Ordering::Relaxed);
            SYSTICK.store(RECORDER.new_thread().to_raw(), Ordering::Relaxed);
            let config = FrameEncoderConfig {
                resync_every: 256,
                clock_hz: 1000,
            };
            Drain {
                consumer: RECORDER.consumer().expect("the only consumer"),
                uart: UartTransport::new(Uart0::init(), config),
            }
        }

        /// Streams everything recorded so far. Main loop only.
        pub(super) fn run(&mut self) {
            let Ok(_) = self.uart.drain(&mut self.consumer);
        }

        /// Prints the recorder's and the transport's counters.
        pub(super) fn report(&self) {
            let stats = RECORDER.stats();
            let sent = self.uart.stats();
            // As u32: formatting u64 would pull in 64-bit division, about 1 KiB of flash.
            let small = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
            cortex_m_semihosting::hprintln!(
                "raceway: {} recorded, {} dropped; {} frames, {} bytes on UART0 ({} definitions, {} epochs)",
                small(stats.recorded),
                small(stats.dropped),
                small(sent.frames),
                small(sent.bytes),
                small(sent.definitions),
                small(sent.epochs)
            );
        }
    }
}

#[cfg(not(feature = "raceway"))]
mod trace {
    //! Raceway left out: every call compiles to nothing.

    use super::Context;

    pub(super) fn read(_: &'static str, _: Context, _: u32) {}
    pub(super) fn write(_: &'static str, _: Context, _: u32, _: u32) {}
    pub(super) fn acquire(_: Context) {}
    pub(super) fn release(_: Context) {}

    pub(super) struct Drain;

    impl Drain {
        pub(super) fn start() -> Self {
            Drain
        }
        pub(super) fn run(&mut self) {}
        pub(super) fn report(&self) {}
    }
}
