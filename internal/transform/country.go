package transform

import (
	"strings"

	"github.com/expr-lang/expr"
)

// Country names and ISO 3166-1 alpha-2 codes, for systems that keep a
// country as a name in the user's language (WebCRM) where the hub and most
// ERPs keep the code:
//
//	country_code(value)          "Danmark", "Germany", "Pays-Bas", "dk" → "DK", "DE", "NL", "DK"
//	country_name(value)          "DK" → "Denmark"
//	country_name(value, 'da')    "DE" → "Tyskland"
//
// Both pass what they do not know through unchanged (a name the table does
// not have, a code of a country it does not list, a language it has no
// names in, a value that is not a text), so that a mapping never loses a
// value to the table's gaps; the target system says whether it takes it.
// The table holds the countries trade between European companies mostly
// meets, in the languages of the countries WebCRM and the reference
// systems are used in; extend it here, with a test.

// countryLanguages are the languages of countryTable's columns, in order.
var countryLanguages = []string{"en", "da", "de", "nl", "sv", "nb", "fr"}

// countryTable: code, then the name in each of countryLanguages. The first
// column is the English short name.
var countryTable = [][]string{
	{"DK", "Denmark", "Danmark", "Dänemark", "Denemarken", "Danmark", "Danmark", "Danemark"},
	{"SE", "Sweden", "Sverige", "Schweden", "Zweden", "Sverige", "Sverige", "Suède"},
	{"NO", "Norway", "Norge", "Norwegen", "Noorwegen", "Norge", "Norge", "Norvège"},
	{"FI", "Finland", "Finland", "Finnland", "Finland", "Finland", "Finland", "Finlande"},
	{"IS", "Iceland", "Island", "Island", "IJsland", "Island", "Island", "Islande"},
	{"FO", "Faroe Islands", "Færøerne", "Färöer", "Faeröer", "Färöarna", "Færøyene", "Îles Féroé"},
	{"GL", "Greenland", "Grønland", "Grönland", "Groenland", "Grönland", "Grønland", "Groenland"},
	{"DE", "Germany", "Tyskland", "Deutschland", "Duitsland", "Tyskland", "Tyskland", "Allemagne"},
	{"NL", "Netherlands", "Holland", "Niederlande", "Nederland", "Nederländerna", "Nederland", "Pays-Bas"},
	{"BE", "Belgium", "Belgien", "Belgien", "België", "Belgien", "Belgia", "Belgique"},
	{"LU", "Luxembourg", "Luxembourg", "Luxemburg", "Luxemburg", "Luxemburg", "Luxembourg", "Luxembourg"},
	{"FR", "France", "Frankrig", "Frankreich", "Frankrijk", "Frankrike", "Frankrike", "France"},
	{"GB", "United Kingdom", "Storbritannien", "Vereinigtes Königreich", "Verenigd Koninkrijk", "Storbritannien", "Storbritannia", "Royaume-Uni"},
	{"IE", "Ireland", "Irland", "Irland", "Ierland", "Irland", "Irland", "Irlande"},
	{"ES", "Spain", "Spanien", "Spanien", "Spanje", "Spanien", "Spania", "Espagne"},
	{"PT", "Portugal", "Portugal", "Portugal", "Portugal", "Portugal", "Portugal", "Portugal"},
	{"IT", "Italy", "Italien", "Italien", "Italië", "Italien", "Italia", "Italie"},
	{"AT", "Austria", "Østrig", "Österreich", "Oostenrijk", "Österrike", "Østerrike", "Autriche"},
	{"CH", "Switzerland", "Schweiz", "Schweiz", "Zwitserland", "Schweiz", "Sveits", "Suisse"},
	{"PL", "Poland", "Polen", "Polen", "Polen", "Polen", "Polen", "Pologne"},
	{"CZ", "Czechia", "Tjekkiet", "Tschechien", "Tsjechië", "Tjeckien", "Tsjekkia", "Tchéquie"},
	{"SK", "Slovakia", "Slovakiet", "Slowakei", "Slowakije", "Slovakien", "Slovakia", "Slovaquie"},
	{"HU", "Hungary", "Ungarn", "Ungarn", "Hongarije", "Ungern", "Ungarn", "Hongrie"},
	{"SI", "Slovenia", "Slovenien", "Slowenien", "Slovenië", "Slovenien", "Slovenia", "Slovénie"},
	{"HR", "Croatia", "Kroatien", "Kroatien", "Kroatië", "Kroatien", "Kroatia", "Croatie"},
	{"RO", "Romania", "Rumænien", "Rumänien", "Roemenië", "Rumänien", "Romania", "Roumanie"},
	{"BG", "Bulgaria", "Bulgarien", "Bulgarien", "Bulgarije", "Bulgarien", "Bulgaria", "Bulgarie"},
	{"GR", "Greece", "Grækenland", "Griechenland", "Griekenland", "Grekland", "Hellas", "Grèce"},
	{"EE", "Estonia", "Estland", "Estland", "Estland", "Estland", "Estland", "Estonie"},
	{"LV", "Latvia", "Letland", "Lettland", "Letland", "Lettland", "Latvia", "Lettonie"},
	{"LT", "Lithuania", "Litauen", "Litauen", "Litouwen", "Litauen", "Litauen", "Lituanie"},
	{"UA", "Ukraine", "Ukraine", "Ukraine", "Oekraïne", "Ukraina", "Ukraina", "Ukraine"},
	{"TR", "Turkey", "Tyrkiet", "Türkei", "Turkije", "Turkiet", "Tyrkia", "Turquie"},
	{"US", "United States", "USA", "Vereinigte Staaten", "Verenigde Staten", "USA", "USA", "États-Unis"},
	{"CA", "Canada", "Canada", "Kanada", "Canada", "Kanada", "Canada", "Canada"},
	{"MX", "Mexico", "Mexico", "Mexiko", "Mexico", "Mexiko", "Mexico", "Mexique"},
	{"BR", "Brazil", "Brasilien", "Brasilien", "Brazilië", "Brasilien", "Brasil", "Brésil"},
	{"CN", "China", "Kina", "China", "China", "Kina", "Kina", "Chine"},
	{"JP", "Japan", "Japan", "Japan", "Japan", "Japan", "Japan", "Japon"},
	{"KR", "South Korea", "Sydkorea", "Südkorea", "Zuid-Korea", "Sydkorea", "Sør-Korea", "Corée du Sud"},
	{"IN", "India", "Indien", "Indien", "India", "Indien", "India", "Inde"},
	{"SG", "Singapore", "Singapore", "Singapur", "Singapore", "Singapore", "Singapore", "Singapour"},
	{"AE", "United Arab Emirates", "De Forenede Arabiske Emirater", "Vereinigte Arabische Emirate", "Verenigde Arabische Emiraten", "Förenade Arabemiraten", "De forente arabiske emirater", "Émirats arabes unis"},
	{"IL", "Israel", "Israel", "Israel", "Israël", "Israel", "Israel", "Israël"},
	{"ZA", "South Africa", "Sydafrika", "Südafrika", "Zuid-Afrika", "Sydafrika", "Sør-Afrika", "Afrique du Sud"},
	{"AU", "Australia", "Australien", "Australien", "Australië", "Australien", "Australia", "Australie"},
	{"NZ", "New Zealand", "New Zealand", "Neuseeland", "Nieuw-Zeeland", "Nya Zeeland", "New Zealand", "Nouvelle-Zélande"},
}

// countryAliases are other names people and systems write for a country.
var countryAliases = map[string]string{
	"the netherlands": "NL", "nederlandene": "NL", "holland": "NL",
	"great britain": "GB", "britain": "GB", "uk": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
	"united kingdom of great britain and northern ireland": "GB", "england (uk)": "GB",
	"usa": "US", "u.s.a.": "US", "u.s.": "US", "united states of america": "US", "amerika": "US", "forenede stater": "US",
	"czech republic": "CZ", "tjekkiske republik": "CZ", "tschechische republik": "CZ",
	"republic of ireland": "IE", "eire": "IE",
	"deutschland (de)": "DE", "federal republic of germany": "DE",
	"korea": "KR", "republic of korea": "KR",
	"uae": "AE", "türkiye": "TR", "turkiye": "TR",
	"schweizerische eidgenossenschaft": "CH", "suomi": "FI", "norwegen (no)": "NO",
	"faroe": "FO", "faroes": "FO", "færøerne (fo)": "FO",
}

var (
	countryByName = map[string]string{}            // folded name → code
	countryNames  = map[string]map[string]string{} // code → language → name
)

func init() {
	for _, row := range countryTable {
		code := row[0]
		countryNames[code] = map[string]string{}
		for i, lang := range countryLanguages {
			name := row[i+1]
			countryNames[code][lang] = name
			countryByName[foldCountry(name)] = code
		}
	}
	for name, code := range countryAliases {
		countryByName[foldCountry(name)] = code
	}
	helpers = append(helpers,
		expr.Function("country_code", func(args ...any) (any, error) { return CountryCode(args[0]), nil },
			new(func(any) any)),
		expr.Function("country_name", func(args ...any) (any, error) {
			lang := "en"
			if len(args) > 1 {
				lang, _ = args[1].(string)
			}
			return CountryName(args[0], lang), nil
		}, new(func(any) any), new(func(any, string) any)),
	)
}

// foldCountry is a name as the table is looked up by: lower case, single
// spaces, without surrounding space and a trailing full stop.
func foldCountry(s string) string {
	return strings.TrimSuffix(strings.Join(strings.Fields(strings.ToLower(s)), " "), ".")
}

// CountryCode returns the ISO 3166-1 alpha-2 code of a country name in any
// of the table's languages, or of a code in any letter case ("dk" → "DK").
// Anything it does not know is returned unchanged.
func CountryCode(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	key := foldCountry(s)
	if code, ok := countryByName[key]; ok {
		return code
	}
	if up := strings.ToUpper(key); len(up) == 2 && countryNames[up] != nil {
		return up
	}
	return v
}

// CountryName returns the name of the country with the given ISO 3166-1
// alpha-2 code (any letter case) in a language of the table (en, da, de,
// nl, sv, nb, fr; no for Norwegian too). A code it does not know, or a
// language it has no names in, gives the value unchanged: a name already
// stays as it is.
func CountryName(v any, lang string) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	names := countryNames[strings.ToUpper(strings.TrimSpace(s))]
	lang = strings.ToLower(strings.TrimSpace(lang))
	if lang == "no" || lang == "nn" {
		lang = "nb"
	}
	if name, ok := names[lang]; ok {
		return name
	}
	return v
}
