//! The category tree: a fixed two-level tree of a general second-hand market. A listing's
//! `category` is one of its slugs (top-level or child). A child's slug is its parent's slug, a
//! `-`, and its own name (`electronics-phones`), and top-level slugs contain no `-`: so the
//! database derives a listing's top-level category from the slug alone (a generated column,
//! `category_top`), and browsing a top-level category is one index range.

/// A category: its slug, its display name, and (top-level only) its children.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Category {
    pub slug: &'static str,
    pub name: &'static str,
    pub children: &'static [Category],
}

const fn leaf(slug: &'static str, name: &'static str) -> Category {
    Category {
        slug,
        name,
        children: &[],
    }
}

/// Where free text that is no known slug goes (also the migration's target for old rows).
pub const OTHER: &str = "other";

/// The tree, top-level categories in display order.
pub const TREE: &[Category] = &[
    Category {
        slug: "electronics",
        name: "Electronics",
        children: &[
            leaf("electronics-phones", "Phones & Tablets"),
            leaf("electronics-computers", "Computers"),
            leaf("electronics-cameras", "Cameras"),
            leaf("electronics-audio", "Audio & Hi-Fi"),
            leaf("electronics-gaming", "Video Games & Consoles"),
            leaf("electronics-tv", "TV & Video"),
        ],
    },
    Category {
        slug: "fashion",
        name: "Fashion",
        children: &[
            leaf("fashion-women", "Women's Clothing"),
            leaf("fashion-men", "Men's Clothing"),
            leaf("fashion-shoes", "Shoes"),
            leaf("fashion-bags", "Bags"),
            leaf("fashion-jewellery", "Jewellery & Watches"),
        ],
    },
    Category {
        slug: "home",
        name: "Home & Garden",
        children: &[
            leaf("home-furniture", "Furniture"),
            leaf("home-kitchen", "Kitchen"),
            leaf("home-decor", "Decor"),
            leaf("home-garden", "Garden"),
            leaf("home-tools", "Tools & DIY"),
            leaf("home-appliances", "Appliances"),
        ],
    },
    Category {
        slug: "sports",
        name: "Sports & Outdoors",
        children: &[
            leaf("sports-bikes", "Bikes"),
            leaf("sports-fitness", "Fitness"),
            leaf("sports-camping", "Camping & Hiking"),
            leaf("sports-winter", "Winter Sports"),
            leaf("sports-water", "Water Sports"),
        ],
    },
    Category {
        slug: "kids",
        name: "Kids & Baby",
        children: &[
            leaf("kids-clothing", "Kids' Clothing"),
            leaf("kids-toys", "Toys"),
            leaf("kids-strollers", "Strollers & Car Seats"),
            leaf("kids-furniture", "Nursery Furniture"),
        ],
    },
    Category {
        slug: "media",
        name: "Books, Music & Film",
        children: &[
            leaf("media-books", "Books"),
            leaf("media-music", "Music"),
            leaf("media-film", "Film"),
            leaf("media-boardgames", "Board Games"),
        ],
    },
    Category {
        slug: "collectibles",
        name: "Collectibles & Art",
        children: &[
            leaf("collectibles-art", "Art"),
            leaf("collectibles-antiques", "Antiques"),
            leaf("collectibles-coins", "Coins & Stamps"),
            leaf("collectibles-cards", "Trading Cards"),
        ],
    },
    Category {
        slug: "vehicles",
        name: "Vehicles & Parts",
        children: &[
            leaf("vehicles-cars", "Cars"),
            leaf("vehicles-motorcycles", "Motorcycles"),
            leaf("vehicles-parts", "Parts & Accessories"),
        ],
    },
    Category {
        slug: "beauty",
        name: "Health & Beauty",
        children: &[
            leaf("beauty-skincare", "Skincare"),
            leaf("beauty-makeup", "Makeup"),
            leaf("beauty-fragrance", "Fragrance"),
        ],
    },
    Category {
        slug: "instruments",
        name: "Musical Instruments",
        children: &[
            leaf("instruments-guitars", "Guitars"),
            leaf("instruments-keyboards", "Keyboards & Pianos"),
            leaf("instruments-drums", "Drums"),
        ],
    },
    Category {
        slug: "pets",
        name: "Pets",
        children: &[
            leaf("pets-supplies", "Pet Supplies"),
            leaf("pets-aquariums", "Aquariums"),
        ],
    },
    Category {
        slug: OTHER,
        name: "Other",
        children: &[],
    },
];

/// Whether a known slug names a top-level category or a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CategoryLevel {
    Top,
    Child,
}

/// The category `slug` names, if any.
pub fn find(slug: &str) -> Option<(&'static Category, CategoryLevel)> {
    TREE.iter().find_map(|top| {
        if top.slug == slug {
            return Some((top, CategoryLevel::Top));
        }
        top.children
            .iter()
            .find(|c| c.slug == slug)
            .map(|c| (c, CategoryLevel::Child))
    })
}

/// The top-level slug of a known slug, as the database derives it (`category_top`): the
/// part before the first `-`.
pub fn top_of(slug: &str) -> &str {
    slug.split_once('-').map_or(slug, |(top, _)| top)
}

/// The length bounds every slug keeps (the API documents them): a-z, 0-9, `_` and `-`.
pub const SLUG_CHARS: (usize, usize) = (1, 64);

/// Every known slug, top-level and children.
pub fn all_slugs() -> impl Iterator<Item = &'static str> {
    TREE.iter()
        .flat_map(|top| std::iter::once(top.slug).chain(top.children.iter().map(|c| c.slug)))
}

/// The words of every slug (`home-decor`: `home`, `decor`): a listing's category is part of
/// what its words are matched against.
pub fn slug_words() -> impl Iterator<Item = &'static str> {
    all_slugs()
        .flat_map(|s| s.split(['-', '_']))
        .filter(|w| !w.is_empty())
}

/// A listing's category must be a known slug.
pub fn validate(slug: &str) -> Result<(), String> {
    if find(slug).is_some() {
        Ok(())
    } else {
        Err("is not a known category (see GET /api/v1/categories)".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn slugs_are_unique_and_children_carry_their_parent() {
        let all: Vec<_> = all_slugs().collect();
        for slug in &all {
            assert!(
                (SLUG_CHARS.0..=SLUG_CHARS.1).contains(&slug.len()),
                "{slug}"
            );
            assert!(slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'));
        }
        assert_eq!(all.len(), all.iter().collect::<HashSet<_>>().len());
        for top in TREE {
            assert!(!top.slug.contains('-'), "{}", top.slug);
            assert_eq!(top_of(top.slug), top.slug);
            for child in top.children {
                assert_eq!(top_of(child.slug), top.slug);
                assert!(child.children.is_empty());
            }
        }
        assert!(TREE.len() >= 10);
        assert!(TREE
            .iter()
            .filter(|t| t.slug != OTHER)
            .all(|t| !t.children.is_empty()));
    }

    #[test]
    fn find_knows_both_levels_and_nothing_else() {
        assert_eq!(find("electronics").unwrap().1, CategoryLevel::Top);
        assert_eq!(find("electronics-phones").unwrap().1, CategoryLevel::Child);
        assert!(find("bikes").is_none());
        assert!(find("electronics-").is_none());
        assert!(find("").is_none());
        assert!(validate("sports-bikes").is_ok());
        assert!(validate("Bad Cat").is_err());
    }
}
