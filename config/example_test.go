package config_test

import (
	"fmt"

	"github.com/learnviews/learnviews/config"
)

// Resolve a profile with an override, as `learnviews run --profile
// fashion-photos-semisup --set game.steps=500` does.
func ExampleLoad() {
	c, err := config.Load(config.Sources{Profile: "fashion-photos-semisup", Set: []string{"game.steps=500"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Game.Kind, c.Game.Steps, c.Optim.LR, config.EnvName("game.steps"))
	_, err = config.Load(config.Sources{Set: []string{"optim.lr=-3"}})
	fmt.Println(err)
	// Output:
	// semisupervised 500 0.0002 LEARNVIEWS_GAME_STEPS
	// config: optim.lr = -3 is not allowed: must be a positive number
}
