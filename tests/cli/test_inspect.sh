# mopt inspect on TorchScript and ONNX, with reports.
source "$(dirname "$0")/lib.sh"

expect_exit 0 -- "$MOPT" inspect "$FIXTURES/resnet18.pt" --report "$WORK/r.json"
expect_stdout "parameters: 11689512"
expect_stdout "aten::conv2d"
validate_report "$WORK/r.json"
/usr/bin/python3 -c "
import json,sys; r=json.load(open('$WORK/r.json')); idx=json.load(open('$FIXTURES/fixtures.json'))
assert r['details']['model']['parameters']==idx['files']['resnet18.pt']['parameters'], 'param count'
assert r['inputs'][0]['parameters']==11689512 and r['command']=='inspect' and r['verdict']=='pass'" || fail "inspect report content"

expect_exit 0 -- "$MOPT" inspect "$FIXTURES/conv_bn.onnx" --report "$WORK/o.json"
expect_stdout "BatchNormalization"
expect_stdout "(onnx,"
validate_report "$WORK/o.json"

expect_exit 0 -- "$MOPT" inspect "$FIXTURES/mlp.pt" --quiet
[ -s "$WORK/out" ] && fail "--quiet printed to stdout"
finish
