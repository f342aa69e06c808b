package experiment

import (
	"fmt"

	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/games"
	"github.com/learnviews/learnviews/viewgen"
)

// Validate checks what config.Validate cannot, before anything is made or
// trained: the view spec, the stage-2 augmentations, the generator's input
// space, and that the data set, the game and the generator fit together.
func Validate(c config.Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if _, err := viewgen.ParseSpec(c.Views.Spec); err != nil {
		return &config.ValueError{Key: "views.spec", Value: fmt.Sprintf("%q", c.Views.Spec), Allowed: err.Error()}
	}
	if _, err := stage2Augs(c.Stage2.Augment); err != nil {
		return &config.ValueError{Key: "stage2.augment", Value: fmt.Sprintf("%q", c.Stage2.Augment), Allowed: err.Error()}
	}
	if _, err := augmentations("game.augment", c.Game.Augment); err != nil {
		return &config.ValueError{Key: "game.augment", Value: fmt.Sprintf("%q", c.Game.Augment), Allowed: err.Error()}
	}
	if _, err := viewgen.ParseColorSpace(c.Generator.InputSpace); err != nil {
		return &config.ValueError{Key: "generator.input_space", Value: fmt.Sprintf("%q", c.Generator.InputSpace), Allowed: err.Error()}
	}
	ds, err := DataSets.Lookup(c.Data.Name)
	if err != nil {
		return err
	}
	if ds.Side != 0 && c.Data.Size > ds.Side {
		return &config.ValueError{Key: "data.size", Value: c.Data.Size, Allowed: fmt.Sprintf("the %s images are %d×%d pixels: views are crops of them, at most that size", c.Data.Name, ds.Side, ds.Side)}
	}
	kind, err := games.Kinds.Lookup(c.Game.Kind)
	if err != nil {
		return err
	}
	if kind.Trains == games.TrainsEncoder && c.Data.Name != "cmnist" {
		return &config.ValueError{Key: "game.kind", Value: fmt.Sprintf("%q", c.Game.Kind), Allowed: "the supervised encoder is the baseline of the Colorful-Moving-MNIST table and needs data.name cmnist"}
	}
	if kind.Generator && c.Generator.Kind != config.NoGenerator {
		if _, err := Generators.Lookup(c.Generator.Kind); err != nil {
			return err
		}
	}
	return checkMemory(c)
}
