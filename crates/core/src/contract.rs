//! Versioned contracts between states: every state's input and output carries a `schema` field,
//! so a handler given another version's JSON fails loudly instead of misreading it.

/// Declares a zero-sized type that serializes as the fixed `$value` and refuses any other string.
#[macro_export]
macro_rules! schema_tag {
    ($(#[$meta:meta])* $name:ident = $value:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
        pub struct $name;

        impl $name {
            /// The schema string this type stands for.
            pub const VALUE: &'static str = $value;
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(Self::VALUE)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let found = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                if found == Self::VALUE {
                    Ok($name)
                } else {
                    Err(serde::de::Error::custom(format!(
                        "schema {found:?} is not {:?}",
                        Self::VALUE
                    )))
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    schema_tag!(
        /// A test contract.
        TestSchema = "selfheal.test/v1"
    );

    #[test]
    fn schema_tag_round_trips_and_refuses_other_versions() {
        assert_eq!(
            serde_json::to_string(&TestSchema).unwrap(),
            r#""selfheal.test/v1""#
        );
        let _: TestSchema = serde_json::from_str(r#""selfheal.test/v1""#).unwrap();
        let err = serde_json::from_str::<TestSchema>(r#""selfheal.test/v2""#).unwrap_err();
        assert!(err.to_string().contains("selfheal.test/v2"), "{err}");
    }
}
