//! `retry_buffer_bytes`: set in code, else `RACEWAY_RETRY_BUFFER_BYTES`, else 4 MiB; a value
//! that is not a number is an error naming the variable.

use raceway::config::DEFAULT_RETRY_BUFFER_BYTES;
use raceway::{Config, ConfigError};

fn env(value: &'static str) -> impl Fn(&str) -> Option<String> {
    move |name| (name == "RACEWAY_RETRY_BUFFER_BYTES").then(|| value.to_owned())
}

#[test]
fn the_retry_buffer_size_comes_from_code_then_env_then_the_default() {
    let default = Config::builder().build().unwrap();
    assert_eq!(default.retry_buffer_bytes(), DEFAULT_RETRY_BUFFER_BYTES);
    assert_eq!(DEFAULT_RETRY_BUFFER_BYTES, 4 * 1024 * 1024);

    let from_env = Config::builder()
        .with_env_from(env("1048576"))
        .build()
        .unwrap();
    assert_eq!(from_env.retry_buffer_bytes(), 1 << 20);

    let from_code = Config::builder()
        .retry_buffer_bytes(8 << 20)
        .with_env_from(env("1048576"))
        .build()
        .unwrap();
    assert_eq!(from_code.retry_buffer_bytes(), 8 << 20);

    let invalid = Config::builder().with_env_from(env("4 MiB")).build();
    assert!(
        matches!(
            invalid,
            Err(ConfigError::InvalidVariable {
                variable: "RACEWAY_RETRY_BUFFER_BYTES",
                ..
            })
        ),
        "{invalid:?}"
    );
}
