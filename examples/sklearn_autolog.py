"""Autolog scikit-learn: a small hyperparameter sweep on the iris data, recorded without touching the model code.

python examples/sklearn_autolog.py [EVENTS_DIR]      # then: provml load EVENTS_DIR
"""

import sys

from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

import provml
import provml.capture.sklearn

provml.capture.sklearn.autolog()

X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)

with provml.start_workflow("iris-sweep", transport=sys.argv[1] if len(sys.argv) > 1 else None, seeds={"split": 0}):
    for n_estimators in (5, 20, 50):
        model = RandomForestClassifier(n_estimators=n_estimators, max_depth=3, random_state=0)
        model.fit(X_train, y_train)  # a training run: params, data digests, the model, its training score
        model.predict(X_test)  # an inference run: the model and the test data in, the predictions out
        print(n_estimators, model.score(X_test, y_test))  # an evaluation run: the score evaluates the model
