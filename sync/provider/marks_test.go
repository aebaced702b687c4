package provider

import (
	"slices"
	"testing"
)

func TestCategoriesCleaned(t *testing.T) {
	for _, c := range []struct {
		in, want []string
	}{
		{nil, nil},
		{[]string{"", "  "}, nil},
		{[]string{"Private"}, []string{"Private"}},
		{[]string{"Don't\nlog", "Sales\r\nforce", " Private ", "Private"}, []string{"Don't log", "Sales  force", "Private"}},
		{[]string{"Salesforce", "Blue category"}, []string{"Salesforce", "Blue category"}},
	} {
		if got := Categories(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Categories(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSensitivityMapped(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "normal": "", "Normal": "", "personal": "personal", "Private": "private",
		"CONFIDENTIAL": "confidential", "secret": "",
	} {
		if got := Sensitivity(in); got != want {
			t.Errorf("Sensitivity(%q) = %q, want %q", in, got, want)
		}
	}
}
