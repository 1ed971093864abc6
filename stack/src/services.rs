//! PostgreSQL and Redis for the stack.
//!
//! **PostgreSQL**, in this order: `DATABASE_URL` when set; else the server the project's
//! prerequisites describe (127.0.0.1:5432, user `postgres`, trust; `scripts/services.sh`) if
//! it answers; else **the stack's own cluster** in `<data>/postgres`, created with `initdb` and
//! run with `pg_ctl` from the Debian binaries (`/usr/lib/postgresql/<v>/bin`), on a free port,
//! stopped when the stack stops. PostgreSQL, not an embedded store, because the relayer and the
//! indexer are built on it (group commits, `FOR UPDATE` cursors, BRIN indexes): a second
//! storage engine would be a second product. The stack uses a database of its own, `veil_stack`,
//! created afresh on every start: the local chain lives in memory, so state kept from an
//! earlier chain would describe transactions that no longer exist.
//!
//! **Redis** (the relayer's nonce store), in the same order: `REDIS_URL`, then 127.0.0.1:6379,
//! then a `redis-server` child on a free port with its files in `<data>/redis`.
//!
//! **The stack's own servers have passwords** (audit finding 14): a cluster with `trust` on
//! 127.0.0.1 let any local user read the stack's secrets (`COPY … TO PROGRAM`), and an open
//! Redis let them forge nonces. The cluster is created with `scram-sha-256` and a generated
//! password, Redis is started from a config file holding `requirepass`; both passwords live in
//! `<data>/services/` (a 0700 directory, files 0600) and never appear on a command line. A cluster left by an older stack with `trust` is recreated (its database is rebuilt
//! on every start anyway). URLs are printed with their credentials redacted ([`redact`]).

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use sqlx::{Connection, Executor, PgConnection};

/// Why a service could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No PostgreSQL: none configured, none running, no binaries to start one.
    #[error(
        "no PostgreSQL: set DATABASE_URL, start one on 127.0.0.1:5432 (scripts/services.sh does, and installs it on Debian as root), or install the postgresql package so the stack can run its own cluster"
    )]
    NoPostgres,
    /// No Redis, likewise.
    #[error(
        "no Redis: set REDIS_URL, start one on 127.0.0.1:6379 (scripts/services.sh), or install redis-server so the stack can run its own"
    )]
    NoRedis,
    /// A command failed.
    #[error("`{command}` failed: {detail}")]
    Command {
        /// The command.
        command: String,
        /// Its output or error.
        detail: String,
    },
    /// The service did not come up.
    #[error("{0} did not answer within 30 s")]
    Timeout(&'static str),
    /// The database could not be prepared.
    #[error("PostgreSQL: {0}")]
    Database(#[from] sqlx::Error),
}

/// A service the stack started; stopped on drop.
pub enum Owned {
    /// `pg_ctl -D <dir>`, run as `user` (`None`: the current user).
    Postgres {
        /// The binaries.
        bin: PathBuf,
        /// The cluster.
        dir: PathBuf,
        /// `postgres` when the stack runs as root.
        user: Option<&'static str>,
        /// Its port.
        port: u16,
    },
    /// A child `redis-server` on its config file.
    Redis {
        /// The server, while it runs.
        child: Option<Child>,
        /// Its config file (port, password, directory).
        conf: PathBuf,
    },
}

impl Owned {
    /// Stops the server at once, as a crash would (`pg_ctl stop -m immediate`; SIGKILL for
    /// Redis). The reliability tests' dependency outages.
    pub fn stop(&mut self) -> Result<(), ServiceError> {
        match self {
            Owned::Postgres { bin, dir, user, .. } => run_as(
                *user,
                &bin.join("pg_ctl"),
                &[
                    "-D",
                    &dir.display().to_string(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
            )
            .map(drop),
            Owned::Redis { child, .. } => {
                if let Some(mut running) = child.take() {
                    let _ = running.kill();
                    let _ = running.wait();
                }
                Ok(())
            }
        }
    }

    /// Starts the server again on its port, with its data (PostgreSQL recovers from its WAL;
    /// Redis starts empty). Returns once it accepts connections.
    pub fn start(&mut self) -> Result<(), ServiceError> {
        match self {
            Owned::Postgres {
                bin,
                dir,
                user,
                port,
            } => start_postgres(bin, dir, *user, *port),
            Owned::Redis { child, conf } => {
                if child.is_none() {
                    *child = Some(spawn_redis(conf)?);
                }
                Ok(())
            }
        }
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        match self {
            Owned::Postgres { bin, dir, user, .. } => {
                let _ = run_as(
                    *user,
                    &bin.join("pg_ctl"),
                    &["-D", &dir.display().to_string(), "-m", "fast", "-w", "stop"],
                );
            }
            Owned::Redis { child, .. } => {
                if let Some(mut running) = child.take() {
                    let _ = running.kill();
                    let _ = running.wait();
                }
            }
        }
    }
}

/// `pg_ctl start` of the cluster in `dir` on `port`, waiting until it accepts connections.
fn start_postgres(
    bin: &Path,
    dir: &Path,
    user: Option<&str>,
    port: u16,
) -> Result<(), ServiceError> {
    let options = format!("-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''");
    let log = dir.join("server.log").display().to_string();
    run_as(
        user,
        &bin.join("pg_ctl"),
        &[
            "-D",
            &dir.display().to_string(),
            "-o",
            &options,
            "-l",
            &log,
            "-w",
            "start",
        ],
    )
    .map(drop)
}

fn spawn_redis(conf: &Path) -> Result<Child, ServiceError> {
    Command::new("redis-server")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|_| ServiceError::NoRedis)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(55432)
}

fn run_as(user: Option<&str>, program: &Path, args: &[&str]) -> Result<String, ServiceError> {
    let mut command = match user {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--"]).arg(program);
            c
        }
        None => Command::new(program),
    };
    let output = command
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ServiceError::Command {
            command: program.display().to_string(),
            detail: e.to_string(),
        })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(text)
    } else {
        Err(ServiceError::Command {
            command: format!("{} {}", program.display(), args.join(" ")),
            detail: text.trim().to_owned(),
        })
    }
}

/// The newest Debian PostgreSQL binaries, if installed.
fn postgres_binaries() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    // Avoids a libc dependency: root's home-independent check.
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `url` with the password of its user info replaced by `***`, for printing.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_owned(),
    }
}

/// The password of the stack's own `name` server, generated once into
/// `<data>/services/<name>.password` (owner-only); whether it was just created.
fn stored_password(data: &Path, name: &str) -> Result<(String, bool), ServiceError> {
    use rand::RngCore;
    let dir = data.join("services");
    let path = dir.join(format!("{name}.password"));
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Ok((text.trim().to_owned(), false));
    }
    let failed = |e: std::io::Error| ServiceError::Command {
        command: format!("write {}", path.display()),
        detail: e.to_string(),
    };
    std::fs::create_dir_all(&dir).map_err(failed)?;
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    let password = hex::encode(bytes);
    write_private(&path, password.as_bytes()).map_err(failed)?;
    Ok((password, true))
}

/// Writes `bytes` to `path`, readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(bytes)
}

/// `postgres://user@host:port/db?x` without its database and parameters.
fn server_of(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    match url[start..].find(['/', '?']) {
        Some(end) => url[..start + end].to_owned(),
        None => url.to_owned(),
    }
}

async fn answers(url: &str) -> bool {
    tokio::time::timeout(Duration::from_secs(2), PgConnection::connect(url))
        .await
        .is_ok_and(|c| c.is_ok())
}

/// A PostgreSQL server URL (without a database) and, if the stack started it, its handle.
/// `given` (`DATABASE_URL`) comes first; `isolated` skips it and the local server: always the
/// stack's own cluster.
pub async fn postgres(
    data: &Path,
    given: Option<&str>,
    isolated: bool,
) -> Result<(String, Option<Owned>), ServiceError> {
    if !isolated {
        if let Some(url) = given {
            return Ok((server_of(url), None));
        }
        let local = "postgres://postgres@127.0.0.1:5432";
        if answers(&format!("{local}/postgres")).await {
            return Ok((local.to_owned(), None));
        }
    }
    let bin = postgres_binaries().ok_or(ServiceError::NoPostgres)?;
    let dir = data.join("postgres");
    let user = is_root().then_some("postgres");
    let (password, new_password) = stored_password(data, "postgres")?;
    if new_password && dir.join("PG_VERSION").exists() {
        // A cluster from before passwords (trust auth): recreate it with one.
        println!(
            "recreating the stack's PostgreSQL cluster in {} with a password",
            dir.display()
        );
        std::fs::remove_dir_all(&dir).map_err(|e| ServiceError::Command {
            command: format!("rm -r {}", dir.display()),
            detail: e.to_string(),
        })?;
    }
    if !dir.join("PG_VERSION").exists() {
        println!(
            "creating the stack's PostgreSQL cluster in {}",
            dir.display()
        );
        std::fs::create_dir_all(&dir).map_err(|e| ServiceError::Command {
            command: format!("mkdir {}", dir.display()),
            detail: e.to_string(),
        })?;
        if let Some(user) = user {
            run_as(
                None,
                Path::new("chown"),
                &[user, &dir.display().to_string()],
            )?;
        }
        // The password goes to initdb through a file only the cluster's owner can read (next
        // to the cluster: initdb wants its directory empty), deleted right after.
        let pwfile = data.join("postgres.initdb.pw");
        let failed = |e: std::io::Error| ServiceError::Command {
            command: format!("write {}", pwfile.display()),
            detail: e.to_string(),
        };
        write_private(&pwfile, password.as_bytes()).map_err(failed)?;
        if let Some(user) = user {
            run_as(
                None,
                Path::new("chown"),
                &[user, &pwfile.display().to_string()],
            )?;
        }
        let created = run_as(
            user,
            &bin.join("initdb"),
            &[
                "-D",
                &dir.display().to_string(),
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                &format!("--pwfile={}", pwfile.display()),
                "--no-sync",
            ],
        );
        let _ = std::fs::remove_file(&pwfile);
        created?;
    }
    let port = free_port();
    start_postgres(&bin, &dir, user, port)?;
    let owned = Owned::Postgres {
        bin,
        dir,
        user,
        port,
    };
    let url = format!("postgres://postgres:{password}@127.0.0.1:{port}");
    let started = Instant::now();
    while !answers(&format!("{url}/postgres")).await {
        if started.elapsed() > Duration::from_secs(30) {
            return Err(ServiceError::Timeout("PostgreSQL"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok((url, Some(owned)))
}

/// Drops and creates `name` on the server at `url`; the database's URL.
pub async fn fresh_database(url: &str, name: &str) -> Result<String, ServiceError> {
    let mut admin = PgConnection::connect(&format!("{url}/postgres")).await?;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await?;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    Ok(format!("{url}/{name}"))
}

async fn redis_answers(port: u16, password: Option<&str>) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(Ok(mut stream)) = tokio::time::timeout(
        Duration::from_secs(1),
        tokio::net::TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    else {
        return false;
    };
    let (request, expected): (String, &[u8]) = match password {
        Some(password) => (format!("AUTH {password}\r\nPING\r\n"), b"+OK\r\n+PONG\r\n"),
        None => ("PING\r\n".to_owned(), b"+PONG\r\n"),
    };
    let mut reply = vec![0u8; expected.len()];
    stream.write_all(request.as_bytes()).await.is_ok()
        && tokio::time::timeout(Duration::from_secs(1), stream.read_exact(&mut reply))
            .await
            .is_ok_and(|r| r.is_ok())
        && reply == expected
}

/// A Redis URL and, if the stack started it, its handle; `given` and `isolated` as for
/// [`postgres`].
pub async fn redis(
    data: &Path,
    given: Option<&str>,
    isolated: bool,
) -> Result<(String, Option<Owned>), ServiceError> {
    if !isolated {
        if let Some(url) = given {
            return Ok((url.to_owned(), None));
        }
        if redis_answers(6379, None).await {
            return Ok(("redis://127.0.0.1:6379".to_owned(), None));
        }
    }
    let dir = data.join("redis");
    std::fs::create_dir_all(&dir).map_err(|e| ServiceError::Command {
        command: format!("mkdir {}", dir.display()),
        detail: e.to_string(),
    })?;
    let port = free_port();
    let (password, _) = stored_password(data, "redis")?;
    // The password goes in the config file (owner-only), never on the command line.
    let conf = dir.join("redis.conf");
    let settings = format!(
        "bind 127.0.0.1\nport {port}\nsave \"\"\nappendonly no\ndir {}\nrequirepass {password}\n",
        dir.display()
    );
    write_private(&conf, settings.as_bytes()).map_err(|e| ServiceError::Command {
        command: format!("write {}", conf.display()),
        detail: e.to_string(),
    })?;
    let owned = Owned::Redis {
        child: Some(spawn_redis(&conf)?),
        conf,
    };
    let started = Instant::now();
    while !redis_answers(port, Some(&password)).await {
        if started.elapsed() > Duration::from_secs(30) {
            return Err(ServiceError::Timeout("Redis"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((format!("redis://:{password}@127.0.0.1:{port}"), Some(owned)))
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://postgres:s3cret@127.0.0.1:5432/veil?sslmode=disable"),
            "postgres://postgres:***@127.0.0.1:5432/veil?sslmode=disable"
        );
        assert_eq!(
            redact("redis://:s3cret@127.0.0.1:6379"),
            "redis://:***@127.0.0.1:6379"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1:5432/veil"),
            "postgres://postgres@127.0.0.1:5432/veil"
        );
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        // An '@' in the path is not user info.
        assert_eq!(redact("http://host/a:b@c"), "http://host/a:b@c");
    }
}
