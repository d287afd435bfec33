//! The libpq calls, behind safe functions. This is the only module of the connection that uses
//! `unsafe`; every call notes the contract it relies on.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char, c_int};
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use pq_sys::{
    ConnStatusType, ExecStatusType, PGTransactionStatusType, PGVerbosity, PGconn, PGresult,
    PostgresPollingStatusType,
};
use zeroize::Zeroizing;

/// An open libpq connection. Closed (`PQfinish`) on drop.
pub(crate) struct RawConnection {
    conn: NonNull<PGconn>,
}

// SAFETY: libpq allows a PGconn to be used from any thread as long as it is not used from two at
// once; `&mut self` on every call that talks to the server guarantees that.
unsafe impl Send for RawConnection {}

/// How a connection attempt failed: libpq's message (in verbose form, so the server's SQLSTATE is in
/// it when the server sent one).
pub(crate) struct ConnectFailure {
    pub message: String,
}

/// Where libpq says the session stands (`PQtransactionStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxStatus {
    Idle,
    Active,
    InTransaction,
    InError,
    Unknown,
}

extern "C" fn ignore_notice(_: *mut std::ffi::c_void, _: *const c_char) {}

impl RawConnection {
    /// Connect with keyword/value parameters (never a connection string, so the password is in no
    /// string anyone else sees), within `timeout`. Error messages are verbose, so a server's SQLSTATE
    /// appears in them (`FATAL:  28P01: …`).
    pub(crate) fn connect(
        params: &[(&str, Zeroizing<String>)],
        timeout: Duration,
    ) -> Result<Self, ConnectFailure> {
        let fail = |message: &str| ConnectFailure {
            message: message.to_string(),
        };
        let mut keys = Vec::with_capacity(params.len() + 1);
        let mut values = Vec::with_capacity(params.len() + 1);
        for (k, v) in params {
            keys.push(CString::new(*k).map_err(|_| fail("a parameter name contains NUL"))?);
            values.push(Zeroizing::new(
                CString::new(v.as_bytes())
                    .map_err(|_| fail("a parameter value contains NUL"))?
                    .into_bytes_with_nul(),
            ));
        }
        let mut key_ptrs: Vec<*const c_char> = keys.iter().map(|k| k.as_ptr()).collect();
        let mut value_ptrs: Vec<*const c_char> =
            values.iter().map(|v| v.as_ptr().cast::<c_char>()).collect();
        key_ptrs.push(std::ptr::null());
        value_ptrs.push(std::ptr::null());
        // SAFETY: both arrays are NULL-terminated arrays of NUL-terminated strings that outlive the
        // call; expand_dbname = 0, so the dbname value is never parsed as a connection string.
        let raw =
            unsafe { pq_sys::PQconnectStartParams(key_ptrs.as_ptr(), value_ptrs.as_ptr(), 0) };
        let Some(conn) = NonNull::new(raw) else {
            return Err(fail("libpq could not allocate a connection"));
        };
        let conn = RawConnection { conn };
        // SAFETY: conn is a valid PGconn; setting the verbosity only changes how later errors
        // (including this connection attempt's) are formatted.
        unsafe {
            pq_sys::PQsetErrorVerbosity(conn.conn.as_ptr(), PGVerbosity::PQERRORS_VERBOSE);
        }
        if conn.status() == ConnStatusType::CONNECTION_BAD {
            return Err(fail(&conn.error_message()));
        }
        let deadline = Instant::now() + timeout;
        let mut want = PostgresPollingStatusType::PGRES_POLLING_WRITING;
        loop {
            match want {
                PostgresPollingStatusType::PGRES_POLLING_OK => break,
                PostgresPollingStatusType::PGRES_POLLING_FAILED => {
                    return Err(fail(&conn.error_message()));
                }
                PostgresPollingStatusType::PGRES_POLLING_READING
                | PostgresPollingStatusType::PGRES_POLLING_WRITING => {
                    let readable = want == PostgresPollingStatusType::PGRES_POLLING_READING;
                    if !conn.wait_socket(readable, deadline) {
                        return Err(fail("timeout expired while connecting"));
                    }
                }
                _ => {}
            }
            // SAFETY: conn is a valid PGconn in the middle of a non-blocking connection attempt.
            want = unsafe { pq_sys::PQconnectPoll(conn.conn.as_ptr()) };
        }
        // SAFETY: valid PGconn; the callback ignores its arguments and lives for the program.
        unsafe {
            pq_sys::PQsetErrorVerbosity(conn.conn.as_ptr(), PGVerbosity::PQERRORS_DEFAULT);
            pq_sys::PQsetNoticeProcessor(
                conn.conn.as_ptr(),
                Some(ignore_notice),
                std::ptr::null_mut(),
            );
        }
        Ok(conn)
    }

    /// Wait until the socket is readable (or writable); false when `deadline` passed first.
    fn wait_socket(&self, readable: bool, deadline: Instant) -> bool {
        // SAFETY: valid PGconn; PQsocket only reads a field.
        let fd = unsafe { pq_sys::PQsocket(self.conn.as_ptr()) };
        if fd < 0 {
            return true; // let PQconnectPoll report the problem
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let mut pfd = libc::pollfd {
                fd,
                events: if readable {
                    libc::POLLIN
                } else {
                    libc::POLLOUT
                },
                revents: 0,
            };
            let ms = left.as_millis().clamp(1, i32::MAX as u128) as c_int;
            // SAFETY: one valid pollfd, nfds = 1.
            let n = unsafe { libc::poll(&mut pfd, 1, ms) };
            if n > 0 {
                return true;
            }
            if n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                return true; // PQconnectPoll will see the socket's state
            }
        }
    }

    fn status(&self) -> ConnStatusType {
        // SAFETY: valid PGconn.
        unsafe { pq_sys::PQstatus(self.conn.as_ptr()) }
    }

    /// Whether libpq considers the connection lost.
    pub(crate) fn is_bad(&self) -> bool {
        self.status() == ConnStatusType::CONNECTION_BAD
    }

    /// libpq's last error message for this connection.
    pub(crate) fn error_message(&self) -> String {
        // SAFETY: valid PGconn; the returned string is owned by the PGconn and copied at once.
        unsafe { cstr_lossy(pq_sys::PQerrorMessage(self.conn.as_ptr())) }
            .trim_end()
            .to_string()
    }

    /// A server parameter reported at startup or by ParameterStatus (`server_version`, `TimeZone`, …).
    pub(crate) fn parameter_status(&self, name: &str) -> Option<String> {
        let name = CString::new(name).ok()?;
        // SAFETY: valid PGconn and NUL-terminated name; the result is NULL or owned by the PGconn.
        let p = unsafe { pq_sys::PQparameterStatus(self.conn.as_ptr(), name.as_ptr()) };
        (!p.is_null()).then(|| unsafe { cstr_lossy(p) })
    }

    pub(crate) fn transaction_status(&self) -> TxStatus {
        // SAFETY: valid PGconn.
        match unsafe { pq_sys::PQtransactionStatus(self.conn.as_ptr()) } {
            PGTransactionStatusType::PQTRANS_IDLE => TxStatus::Idle,
            PGTransactionStatusType::PQTRANS_ACTIVE => TxStatus::Active,
            PGTransactionStatusType::PQTRANS_INTRANS => TxStatus::InTransaction,
            PGTransactionStatusType::PQTRANS_INERROR => TxStatus::InError,
            _ => TxStatus::Unknown,
        }
    }

    /// Run `sql` with the simple query protocol and wait for its (last) result.
    pub(crate) fn exec(&mut self, sql: &CStr) -> Option<RawResult> {
        // SAFETY: valid PGconn and NUL-terminated SQL; the result (or NULL) is ours to PQclear.
        RawResult::from_ptr(unsafe { pq_sys::PQexec(self.conn.as_ptr(), sql.as_ptr()) })
    }

    /// Send `sql` with the simple query protocol without waiting (results come from `next_result`).
    pub(crate) fn send_query(&mut self, sql: &CStr) -> Result<(), String> {
        // SAFETY: valid PGconn and NUL-terminated SQL.
        let ok = unsafe { pq_sys::PQsendQuery(self.conn.as_ptr(), sql.as_ptr()) };
        self.sent(ok)
    }

    /// Send an unnamed Parse/Bind/Describe/Execute/Sync (`PQsendQueryParams`). `params` are already in
    /// the format given by `formats`; text values must be NUL-terminated.
    pub(crate) fn send_query_params(
        &mut self,
        sql: &CStr,
        params: &Params<'_>,
        result_format: c_int,
    ) -> Result<(), String> {
        // SAFETY: valid PGconn; the four arrays have `params.len()` entries each and outlive the call;
        // NULL values are null pointers.
        let ok = unsafe {
            pq_sys::PQsendQueryParams(
                self.conn.as_ptr(),
                sql.as_ptr(),
                params.len(),
                params.types_ptr(),
                params.values.as_ptr(),
                params.lengths.as_ptr(),
                params.formats.as_ptr(),
                result_format,
            )
        };
        self.sent(ok)
    }

    /// Execute the named prepared statement `name` (`PQsendQueryPrepared`).
    pub(crate) fn send_query_prepared(
        &mut self,
        name: &CStr,
        params: &Params<'_>,
        result_format: c_int,
    ) -> Result<(), String> {
        // SAFETY: as for send_query_params.
        let ok = unsafe {
            pq_sys::PQsendQueryPrepared(
                self.conn.as_ptr(),
                name.as_ptr(),
                params.len(),
                params.values.as_ptr(),
                params.lengths.as_ptr(),
                params.formats.as_ptr(),
                result_format,
            )
        };
        self.sent(ok)
    }

    /// Prepare `sql` as the named statement `name` and wait for the result.
    pub(crate) fn prepare(&mut self, name: &CStr, sql: &CStr, types: &[u32]) -> Option<RawResult> {
        // SAFETY: valid PGconn, NUL-terminated strings, `types` has the given length.
        RawResult::from_ptr(unsafe {
            pq_sys::PQprepare(
                self.conn.as_ptr(),
                name.as_ptr(),
                sql.as_ptr(),
                types.len() as c_int,
                if types.is_empty() {
                    std::ptr::null()
                } else {
                    types.as_ptr()
                },
            )
        })
    }

    /// Describe the prepared statement `name` ("" for the unnamed one): its result columns.
    pub(crate) fn describe_prepared(&mut self, name: &CStr) -> Option<RawResult> {
        // SAFETY: valid PGconn and NUL-terminated name; the result (or NULL) is ours to PQclear.
        RawResult::from_ptr(unsafe {
            pq_sys::PQdescribePrepared(self.conn.as_ptr(), name.as_ptr())
        })
    }

    fn sent(&self, ok: c_int) -> Result<(), String> {
        if ok == 1 {
            Ok(())
        } else {
            Err(self.error_message())
        }
    }

    /// Switch the query just sent to single-row mode.
    pub(crate) fn set_single_row_mode(&mut self) -> bool {
        // SAFETY: valid PGconn, called right after a send, before the first PQgetResult.
        unsafe { pq_sys::PQsetSingleRowMode(self.conn.as_ptr()) == 1 }
    }

    /// The next result of the query in flight; `None` when it is complete.
    pub(crate) fn next_result(&mut self) -> Option<RawResult> {
        // SAFETY: valid PGconn; the result (or NULL) is ours to PQclear.
        RawResult::from_ptr(unsafe { pq_sys::PQgetResult(self.conn.as_ptr()) })
    }

    /// Send COPY data (blocking until libpq has queued it).
    pub(crate) fn put_copy_data(&mut self, data: &[u8]) -> Result<(), String> {
        for chunk in data.chunks(i32::MAX as usize) {
            // SAFETY: valid PGconn in COPY IN state; the buffer has `len` readable bytes.
            let r = unsafe {
                pq_sys::PQputCopyData(
                    self.conn.as_ptr(),
                    chunk.as_ptr().cast::<c_char>(),
                    chunk.len() as c_int,
                )
            };
            if r != 1 {
                return Err(self.error_message());
            }
        }
        Ok(())
    }

    /// End COPY IN, or abort it with `error` (which the server reports back).
    pub(crate) fn put_copy_end(&mut self, error: Option<&str>) -> Result<(), String> {
        let msg = error.map(|e| CString::new(e.replace('\0', " ")).unwrap_or_default());
        // SAFETY: valid PGconn in COPY IN state; errormsg is NULL or NUL-terminated.
        let r = unsafe {
            pq_sys::PQputCopyEnd(
                self.conn.as_ptr(),
                msg.as_ref().map_or(std::ptr::null(), |m| m.as_ptr()),
            )
        };
        if r == 1 {
            Ok(())
        } else {
            Err(self.error_message())
        }
    }
}

impl Drop for RawConnection {
    fn drop(&mut self) {
        // SAFETY: valid PGconn, never used again.
        unsafe { pq_sys::PQfinish(self.conn.as_ptr()) }
    }
}

/// Parameters for `PQsendQueryParams` / `PQsendQueryPrepared`, borrowing the value buffers.
pub(crate) struct Params<'a> {
    types: Vec<u32>,
    values: Vec<*const c_char>,
    lengths: Vec<c_int>,
    formats: Vec<c_int>,
    _values: std::marker::PhantomData<&'a [u8]>,
}

impl<'a> Params<'a> {
    /// `values[i]` is `None` for NULL; `binary` says whether the values are in binary format (else
    /// text, each NUL-terminated). `types[i]` 0 lets the server infer the type.
    pub(crate) fn new(types: Vec<u32>, values: &'a [Option<Vec<u8>>], binary: bool) -> Self {
        let values_ptrs = values
            .iter()
            .map(|v| {
                v.as_ref()
                    .map_or(std::ptr::null(), |v| v.as_ptr().cast::<c_char>())
            })
            .collect();
        let lengths = values
            .iter()
            .map(|v| v.as_ref().map_or(0, |v| v.len() as c_int))
            .collect();
        Params {
            types,
            values: values_ptrs,
            lengths,
            formats: vec![c_int::from(binary); values.len()],
            _values: std::marker::PhantomData,
        }
    }

    fn len(&self) -> c_int {
        self.values.len() as c_int
    }

    fn types_ptr(&self) -> *const u32 {
        if self.types.is_empty() {
            std::ptr::null()
        } else {
            self.types.as_ptr()
        }
    }
}

/// A `PGresult`, cleared on drop.
pub(crate) struct RawResult {
    res: NonNull<PGresult>,
}

// SAFETY: a PGresult is immutable once returned and not tied to its connection's thread.
unsafe impl Send for RawResult {}

/// What kind of result libpq returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResultKind {
    Command,
    Tuples,
    SingleTuple,
    CopyIn,
    CopyOut,
    Empty,
    Error,
    Other,
}

impl RawResult {
    fn from_ptr(p: *mut PGresult) -> Option<Self> {
        NonNull::new(p).map(|res| RawResult { res })
    }

    pub(crate) fn kind(&self) -> ResultKind {
        // SAFETY: valid PGresult.
        match unsafe { pq_sys::PQresultStatus(self.res.as_ptr()) } {
            ExecStatusType::PGRES_COMMAND_OK => ResultKind::Command,
            ExecStatusType::PGRES_TUPLES_OK => ResultKind::Tuples,
            ExecStatusType::PGRES_SINGLE_TUPLE => ResultKind::SingleTuple,
            ExecStatusType::PGRES_COPY_IN => ResultKind::CopyIn,
            ExecStatusType::PGRES_COPY_OUT => ResultKind::CopyOut,
            ExecStatusType::PGRES_EMPTY_QUERY => ResultKind::Empty,
            ExecStatusType::PGRES_BAD_RESPONSE
            | ExecStatusType::PGRES_NONFATAL_ERROR
            | ExecStatusType::PGRES_FATAL_ERROR => ResultKind::Error,
            _ => ResultKind::Other,
        }
    }

    /// One field of the error (`PQresultErrorField`): `b'C'` SQLSTATE, `b'M'` message, `b'D'`
    /// detail, `b'H'` hint, `b'P'` position, `b's'` schema, `b't'` table, `b'c'` column, `b'n'`
    /// constraint.
    pub(crate) fn error_field(&self, code: u8) -> Option<String> {
        // SAFETY: valid PGresult; the string (or NULL) is owned by the result and copied at once.
        let p = unsafe { pq_sys::PQresultErrorField(self.res.as_ptr(), c_int::from(code)) };
        (!p.is_null()).then(|| unsafe { cstr_lossy(p) })
    }

    /// The whole error text (`PQresultErrorMessage`).
    pub(crate) fn error_message(&self) -> String {
        // SAFETY: valid PGresult; the string is owned by it and copied at once.
        unsafe { cstr_lossy(pq_sys::PQresultErrorMessage(self.res.as_ptr())) }
            .trim_end()
            .to_string()
    }

    pub(crate) fn rows(&self) -> usize {
        // SAFETY: valid PGresult.
        unsafe { pq_sys::PQntuples(self.res.as_ptr()) }.max(0) as usize
    }

    pub(crate) fn columns(&self) -> usize {
        // SAFETY: valid PGresult.
        unsafe { pq_sys::PQnfields(self.res.as_ptr()) }.max(0) as usize
    }

    pub(crate) fn column_type(&self, col: usize) -> u32 {
        // SAFETY: valid PGresult; an out-of-range column gives 0.
        unsafe { pq_sys::PQftype(self.res.as_ptr(), col as c_int) }
    }

    /// The column's format code: 0 text, 1 binary.
    pub(crate) fn column_format(&self, col: usize) -> c_int {
        // SAFETY: valid PGresult; an out-of-range column gives 0.
        unsafe { pq_sys::PQfformat(self.res.as_ptr(), col as c_int) }
    }

    pub(crate) fn column_name(&self, col: usize) -> Option<&str> {
        // SAFETY: valid PGresult; the name (or NULL) lives as long as the result, which `&self`
        // borrows.
        let p = unsafe { pq_sys::PQfname(self.res.as_ptr(), col as c_int) };
        if p.is_null() {
            return None;
        }
        unsafe { CStr::from_ptr(p) }.to_str().ok()
    }

    /// The value at (`row`, `col`), `None` for NULL. The bytes live as long as the result.
    pub(crate) fn value(&self, row: usize, col: usize) -> Option<&[u8]> {
        let (r, c) = (row as c_int, col as c_int);
        // SAFETY: valid PGresult; callers pass row < rows() and col < columns(). PQgetvalue's
        // buffer holds PQgetlength bytes and lives as long as the result.
        unsafe {
            if pq_sys::PQgetisnull(self.res.as_ptr(), r, c) != 0 {
                return None;
            }
            let p = pq_sys::PQgetvalue(self.res.as_ptr(), r, c);
            let len = pq_sys::PQgetlength(self.res.as_ptr(), r, c).max(0) as usize;
            if p.is_null() {
                return Some(&[]);
            }
            Some(std::slice::from_raw_parts(p.cast::<u8>(), len))
        }
    }

    /// Rows affected, from the command tag (0 when it has no count).
    pub(crate) fn rows_affected(&self) -> usize {
        // SAFETY: valid PGresult; the string is owned by it.
        let p = unsafe { pq_sys::PQcmdTuples(self.res.as_ptr()) };
        if p.is_null() {
            return 0;
        }
        unsafe { CStr::from_ptr(p) }
            .to_str()
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for RawResult {
    fn drop(&mut self) {
        // SAFETY: valid PGresult, never used again.
        unsafe { pq_sys::PQclear(self.res.as_ptr()) }
    }
}

/// Copy a libpq C string (lossily decoded).
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string valid for the duration of the call.
unsafe fn cstr_lossy(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: guaranteed by the caller.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}
