//! Enums with fixed names: states and kinds stored as text in Postgres, shown in JSON and parsed
//! from query strings. [`named_enum!`](crate::named_enum) writes the name table once and derives
//! everything that reads or writes it, so a name cannot drift between the database, the API and
//! the code.

/// Declares a fieldless enum whose variants have fixed names, with:
/// - `ALL` (every variant, in declaration order), `as_str`, `parse` (`None` for an unknown name),
///   and `parse_field` (a [`FieldError`](crate::FieldError) naming every name instead);
/// - `Display`, serde `Serialize`/`Deserialize` by name;
/// - `sqlx::Type`/`Encode`/`Decode` for Postgres as `TEXT` (use `col AS "col: Enum"` in the
///   query macros), so a row with an unknown name fails to decode instead of being guessed.
///
/// ```
/// jobs::named_enum! {
///     /// A light.
///     pub enum Light {
///         /// Stop.
///         Red = "red",
///         /// Go.
///         Green = "green",
///     }
/// }
/// assert_eq!(Light::parse("red"), Some(Light::Red));
/// assert_eq!(Light::Green.as_str(), "green");
/// assert_eq!(Light::ALL.len(), 2);
/// ```
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            /// The name stored and shown.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }

            /// Parses a name; `None` when it is not one of [`Self::ALL`]'s.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $( $text => Some($name::$variant), )+
                    _ => None,
                }
            }

            /// Every name, comma-separated (for error messages).
            pub fn names() -> String {
                [$($text),+].join(", ")
            }

            /// Parses the name sent as `field`; an error at `field` listing every name when
            /// it is not one.
            pub fn parse_field(field: &str, s: &str) -> Result<Self, $crate::FieldError> {
                Self::parse(s).ok_or_else(|| {
                    $crate::FieldError::new(field, format!("expected one of {}", Self::names()))
                })
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| {
                    ::serde::de::Error::custom(format!("expected one of {}", $name::names()))
                })
            }
        }

        impl ::sqlx::Type<::sqlx::Postgres> for $name {
            fn type_info() -> ::sqlx::postgres::PgTypeInfo {
                <&str as ::sqlx::Type<::sqlx::Postgres>>::type_info()
            }
            fn compatible(ty: &::sqlx::postgres::PgTypeInfo) -> bool {
                <&str as ::sqlx::Type<::sqlx::Postgres>>::compatible(ty)
            }
        }

        impl<'q> ::sqlx::Encode<'q, ::sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut ::sqlx::postgres::PgArgumentBuffer,
            ) -> Result<::sqlx::encode::IsNull, ::sqlx::error::BoxDynError> {
                <&str as ::sqlx::Encode<'q, ::sqlx::Postgres>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> ::sqlx::Decode<'r, ::sqlx::Postgres> for $name {
            fn decode(
                value: ::sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, ::sqlx::error::BoxDynError> {
                let s = <&str as ::sqlx::Decode<'r, ::sqlx::Postgres>>::decode(value)?;
                $name::parse(s).ok_or_else(|| {
                    format!(concat!("unknown ", stringify!($name), " {:?}"), s).into()
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::named_enum! {
        /// A test enum.
        pub enum Light {
            /// Stop.
            Red = "red",
            /// Go.
            Green = "green",
        }
    }

    #[test]
    fn names_round_trip_through_parse_serde_and_display() {
        for light in Light::ALL {
            assert_eq!(Light::parse(light.as_str()), Some(light));
            assert_eq!(light.to_string(), light.as_str());
            let json = serde_json::to_string(&light).unwrap();
            assert_eq!(json, format!("\"{}\"", light.as_str()));
            assert_eq!(serde_json::from_str::<Light>(&json).unwrap(), light);
        }
        assert_eq!(Light::parse("amber"), None);
        assert!(serde_json::from_str::<Light>("\"amber\"").is_err());
        assert_eq!(Light::names(), "red, green");
        assert_eq!(Light::parse_field("light", "green"), Ok(Light::Green));
        let unknown = Light::parse_field("light", "amber").unwrap_err();
        assert_eq!(unknown.path, "light");
        assert_eq!(unknown.message, "expected one of red, green");
    }

    #[sqlx::test(migrations = false)]
    async fn names_round_trip_through_postgres_text(pool: sqlx::PgPool) {
        let back: Light = sqlx::query_scalar("SELECT $1::text")
            .bind(Light::Green)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(back, Light::Green);
        let unknown = sqlx::query_scalar::<_, Light>("SELECT 'amber'::text")
            .fetch_one(&pool)
            .await;
        assert!(
            unknown.is_err(),
            "an unknown name must not decode: {unknown:?}"
        );
    }
}
