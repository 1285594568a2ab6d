"""The PROV-DM to PROV-O table, and the rules that type PROV records by PROV-ML.

Both directions use it: the ``prov`` loader (PROV-JSON, PROV-N, PROV-XML to PROV-O) and
:mod:`provml.prov_export` (PROV-O back to PROV-JSON). Names are PROV-N keywords (``used``) and the
local names of PROV-DM's formal attributes (``entity``), so this module needs no ``prov`` package.

>>> RELATIONS["used"].binary
'http://www.w3.org/ns/prov#used'
>>> [c.rsplit("#")[1] for c in provml_classes("activity", [MLS_NS + "Run"])]
['LearningStageExecution', 'TaskExecution', 'Activity']
>>> repaired_namespace("https://ml-schema.org/"), repaired_namespace("http://www.w3.org/ns/mls#")
('http://www.w3.org/ns/mls#', None)
"""

from __future__ import annotations

from dataclasses import dataclass

from provml.vocab import MLS_NS, PROV, PROV_NS, PROVML, RDF, RDFS

ELEMENTS = {"entity": PROV.Entity, "activity": PROV.Activity, "agent": PROV.Agent}

# attributes of elements and relations with a PROV-O property of their own (others keep their IRI)
ATTRIBUTE_PROPERTIES = {
    "type": RDF.type,
    "label": RDFS.label,
    "location": PROV_NS + "atLocation",
    "value": PROV_NS + "value",
    "role": PROV_NS + "hadRole",
    "startTime": PROV.startedAtTime,
    "endTime": PROV.endedAtTime,
    "time": PROV_NS + "atTime",
}
LITERAL_TYPE = PROV_NS + "type"  # a prov:type that is not a qualified name: RDF wants a class for rdf:type


@dataclass(frozen=True)
class RelationForm:
    """How PROV-O writes one kind of PROV relation.

    ``subject`` and ``object`` are the formal attributes joined by the ``binary`` property;
    ``qualified`` links the subject to an influence node of class ``influence``, on which
    ``node_properties`` carry the other formal attributes. Relations without a qualified form
    (specialization, alternate, membership, mention) have ``qualified = None``.
    """

    keyword: str
    subject: str
    object: str
    binary: str
    qualified: str | None = None
    influence: str | None = None
    node_properties: tuple[tuple[str, str], ...] = ()
    required: tuple[str, ...] = ()


def _p(local: str) -> str:
    return PROV_NS + local


def _relation(
    keyword: str, subject: str, object: str, name: str | None, *nodes: tuple[str, str], required: tuple[str, ...] = ()
) -> RelationForm:
    """Return the form of a relation whose influence class is ``prov:<name>`` (None: no qualified form)."""
    qualified, influence = (_p("qualified" + name), _p(name)) if name else (None, None)
    return RelationForm(keyword, subject, object, _p(keyword), qualified, influence, nodes, required)


_TIME = ("time", _p("atTime"))
RELATIONS: dict[str, RelationForm] = {
    form.keyword: form
    for form in (
        _relation("wasGeneratedBy", "entity", "activity", "Generation", ("activity", _p("activity")), _TIME),
        _relation("used", "activity", "entity", "Usage", ("entity", _p("entity")), _TIME),
        _relation(
            "wasInformedBy",
            "informed",
            "informant",
            "Communication",
            ("informant", _p("activity")),
            required=("informant",),
        ),
        _relation(
            "wasStartedBy",
            "activity",
            "trigger",
            "Start",
            ("trigger", _p("entity")),
            ("starter", _p("hadActivity")),
            _TIME,
        ),
        _relation(
            "wasEndedBy", "activity", "trigger", "End", ("trigger", _p("entity")), ("ender", _p("hadActivity")), _TIME
        ),
        _relation("wasInvalidatedBy", "entity", "activity", "Invalidation", ("activity", _p("activity")), _TIME),
        _relation(
            "wasDerivedFrom",
            "generatedEntity",
            "usedEntity",
            "Derivation",
            ("usedEntity", _p("entity")),
            ("activity", _p("hadActivity")),
            ("generation", _p("hadGeneration")),
            ("usage", _p("hadUsage")),
            required=("usedEntity",),
        ),
        _relation("wasAttributedTo", "entity", "agent", "Attribution", ("agent", _p("agent")), required=("agent",)),
        _relation(
            "wasAssociatedWith", "activity", "agent", "Association", ("agent", _p("agent")), ("plan", _p("hadPlan"))
        ),
        _relation(
            "actedOnBehalfOf",
            "delegate",
            "responsible",
            "Delegation",
            ("responsible", _p("agent")),
            ("activity", _p("hadActivity")),
            required=("responsible",),
        ),
        _relation(
            "wasInfluencedBy",
            "influencee",
            "influencer",
            "Influence",
            ("influencer", _p("influencer")),
            required=("influencer",),
        ),
        _relation("specializationOf", "specificEntity", "generalEntity", None, required=("generalEntity",)),
        _relation("alternateOf", "alternate1", "alternate2", None, required=("alternate2",)),
        _relation("hadMember", "collection", "entity", None, required=("entity",)),
        _relation(
            "mentionOf",
            "specificEntity",
            "generalEntity",
            None,
            ("bundle", _p("asInBundle")),
            required=("generalEntity", "bundle"),
        ),
    )
}

# derivations that a prov:type makes more specific: (binary property, qualified property)
DERIVATION_KINDS = {
    _p("Revision"): (_p("wasRevisionOf"), _p("qualifiedRevision")),
    _p("Quotation"): (_p("wasQuotedFrom"), _p("qualifiedQuotation")),
    _p("PrimarySource"): (_p("hadPrimarySource"), _p("qualifiedPrimarySource")),
}

# -- PROV-ML typing ----------------------------------------------------------------------------

# Each PROV-ML class (and the PROV classes between it and a core class) with the class above it that
# provml asserts with it, as provml.mapping does: a node gets its class and every class up to its
# PROV core class (entity, activity or agent), so that queries need no reasoner.
PARENT: dict[str, str] = {
    PROV.Plan: PROV.Entity,
    PROV.Person: PROV.Agent,
    PROV.SoftwareAgent: PROV.Agent,
    **dict.fromkeys(
        (PROVML.Workflow, PROVML.Task, PROVML.Algorithm, PROVML.Implementation, PROVML.ModelDesign), PROV.Plan
    ),
    PROVML.BaseLearningStage: PROVML.Task,
    **dict.fromkeys((PROVML.LearningStage, PROVML.LearningStageSection), PROVML.BaseLearningStage),
    **dict.fromkeys((PROVML.Training, PROVML.Validation, PROVML.Evaluation), PROVML.LearningStage),
    **dict.fromkeys(
        (PROVML.DataCuration, PROVML.LearningDataPreparation, PROVML.Deployment, PROVML.Inference), PROVML.Task
    ),
    **dict.fromkeys(
        (
            PROVML.LearningTask,
            PROVML.Hyperparameter,
            PROVML.EvaluationMeasure,
            PROVML.Dataset,
            PROVML.DatasetCharacteristic,
            PROVML.Feature,
            PROVML.DataReference,
            PROVML.DataValue,
            PROVML.Model,
            PROVML.HyperparameterSetting,
            PROVML.ModelEvaluation,
            PROVML.TelemetrySample,
            PROVML.CodeVersion,
            PROVML.Environment,
        ),
        PROV.Entity,
    ),
    **dict.fromkeys((PROVML.LearningHyperparameter, PROVML.ModelHyperparameter), PROVML.Hyperparameter),
    **dict.fromkeys((PROVML.RawDataset, PROVML.DomainDataset, PROVML.LearningDataset), PROVML.Dataset),
    **dict.fromkeys((PROVML.Study, PROVML.LearningExperiment, PROVML.WorkflowExecution), PROV.Activity),
    PROVML.TaskExecution: PROV.Activity,
    **dict.fromkeys(
        (
            PROVML.LearningStageExecution,
            PROVML.LearningStageSectionExecution,
            PROVML.DataCurationExecution,
            PROVML.LearningDataPreparationExecution,
            PROVML.DeploymentExecution,
            PROVML.InferenceExecution,
        ),
        PROVML.TaskExecution,
    ),
    **dict.fromkeys(
        (PROVML.TrainingExecution, PROVML.ValidationExecution, PROVML.EvaluationExecution),
        PROVML.LearningStageExecution,
    ),
    PROVML.Persona: PROV.Person,
    PROVML.Software: PROV.SoftwareAgent,
    **dict.fromkeys((PROVML.ComputeNode, PROVML.GPU), PROV.Agent),
}

# ML Schema classes and the PROV-ML class that a node of that class is taken to be
MLS_CLASSES: dict[str, str] = {
    MLS_NS + "Run": PROVML.LearningStageExecution,
    MLS_NS + "Study": PROVML.Study,
    MLS_NS + "Experiment": PROVML.LearningExperiment,
    MLS_NS + "Dataset": PROVML.Dataset,
    MLS_NS + "DatasetCharacteristic": PROVML.DatasetCharacteristic,
    MLS_NS + "Feature": PROVML.Feature,
    MLS_NS + "Model": PROVML.Model,
    MLS_NS + "ModelEvaluation": PROVML.ModelEvaluation,
    MLS_NS + "EvaluationMeasure": PROVML.EvaluationMeasure,
    MLS_NS + "HyperParameter": PROVML.Hyperparameter,
    MLS_NS + "HyperParameterSetting": PROVML.HyperparameterSetting,
    MLS_NS + "Algorithm": PROVML.Algorithm,
    MLS_NS + "Implementation": PROVML.Implementation,
    MLS_NS + "Software": PROVML.Software,
    MLS_NS + "Task": PROVML.LearningTask,
}

ML_CLASSES = frozenset(MLS_CLASSES) | frozenset(PARENT)  # the classes typing rules know

# classes whose prov:value (or mls:hasValue) is also their provml:value
VALUED = frozenset(
    (PROVML.HyperparameterSetting, PROVML.ModelEvaluation, PROVML.DatasetCharacteristic, PROVML.DataValue)
)
VALUE_ATTRIBUTES = frozenset((PROV_NS + "value", MLS_NS + "hasValue"))

# properties by which an element says what it is about (a concept of the user's domain): one whose value names an
# IRI also gives the element a provml:domainConcept link to it (schema.org is written with either scheme)
ABOUT_PROPERTIES = frozenset(
    (
        PROVML.domainConcept,
        "http://purl.org/dc/terms/subject",
        "https://schema.org/about",
        "http://schema.org/about",
        "http://www.w3.org/ns/dcat#theme",
    )
)


def provml_classes(kind: str, types: list[str]) -> list[str]:
    """Return the classes to assert of an element of ``kind`` (entity, activity, agent) typed ``types``:
    the PROV-ML class of each PROV-ML or ML Schema type and every class above it up to the core class.

    A type whose core class is not the element's kind (an entity typed ``mls:Run``) adds nothing.
    """
    core, found = ELEMENTS[kind], []
    for given in types:
        chain, cls = [], MLS_CLASSES.get(given, given)
        while cls in PARENT:
            chain.append(cls)
            cls = PARENT[cls]
        if cls == core and chain:
            found += [c for c in (*chain, core) if c not in found]
    return found


# -- ML Schema namespace repair ----------------------------------------------------------------

_MLS_SPELLINGS = frozenset(("ml-schema.org", "www.ml-schema.org", "www.w3.org/ns/mls", "w3.org/ns/mls"))


def repaired_namespace(uri: str) -> str | None:
    """Return the ML Schema namespace if ``uri`` is a wrong spelling of it (``https://ml-schema.org/``,
    ``http://www.w3.org/ns/mls`` without ``#``...), else None."""
    if uri == MLS_NS:
        return None
    scheme, sep, rest = uri.partition("://")
    if sep and scheme.lower() in ("http", "https") and rest.rstrip("#/").lower() in _MLS_SPELLINGS:
        return MLS_NS
    return None
