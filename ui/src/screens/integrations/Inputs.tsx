// The labelled inputs moved to components/ (the intake editors use them too).
export * from "../../components/Inputs";
