//! The configuration file (TOML, walked key by key): any text is a
//! configuration or one error line, and a configuration printed with
//! `--print-config` reads back as the same configuration.

#![no_main]

use backend::settings::from_file_text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The file is read as UTF-8 or refused before it is parsed.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let settings = match from_file_text("hubbub.toml", text) {
        Ok(settings) => settings,
        Err(error) => {
            assert!(
                !error.contains('\n'),
                "an error of more than one line: {error}"
            );
            return;
        }
    };
    let printed = settings.render();
    match from_file_text("printed.toml", &printed) {
        Ok(again) => assert_eq!(again.config, settings.config, "{printed}"),
        Err(error) => panic!("the printed configuration does not read back: {error}\n{printed}"),
    }
});
